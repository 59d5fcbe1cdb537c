// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are justfn.yaml's own ${...} syntax.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../runtime/config/config-error.js';
import { loadServiceConfig } from '../../../runtime/config/load.js';

const root = mkdtempSync(join(tmpdir(), 'justfn-config-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let cases = 0;
/** Writes `text` as justfn.yaml in a fresh directory; returns its path. */
function file(text: string, extra: Record<string, string> = {}): string {
  const dir = join(root, String(++cases));
  mkdirSync(dir);
  for (const [name, contents] of Object.entries(extra)) writeFileSync(join(dir, name), contents);
  writeFileSync(join(dir, 'justfn.yaml'), text);
  return join(dir, 'justfn.yaml');
}

/** The problem lines loading `text` gives, with the path shown as `justfn.yaml`; none: it must not load. */
function problems(text: string, env: Record<string, string | undefined> = {}, orNone = false): string[] {
  const path = file(text);
  try {
    loadServiceConfig(path, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe((error as ConfigError).problems.join('\n'));
    return (error as ConfigError).problems.map((line) => line.replaceAll(path, 'justfn.yaml'));
  }
  if (orNone) return [];
  throw new Error('the file loaded');
}

const db = (lines: string) => `name: users\nresources:\n  db:\n    kind: postgres\n${lines}`;

describe('loadServiceConfig: one precise line per problem', () => {
  it('bad YAML, with line and column', () => {
    expect(problems('name: users\nresources:\n  db: { kind: postgres\n  auth: x\n')).toEqual([
      'justfn.yaml:4:3: bad YAML: Flow map in block collection must be sufficiently indented and end with a }',
    ]);
    expect(problems('name: users\nname: again\n')).toEqual([
      'justfn.yaml:2:1: bad YAML: Map keys must be unique',
    ]);
    expect(problems('name: users\n  handler: x\n')).toEqual([
      'justfn.yaml:1:7: bad YAML: Nested mappings are not allowed in compact mappings',
    ]);
    expect(problems('name: users\n---\nname: other\n')).toEqual([
      'justfn.yaml:2:1: bad YAML: Source contains multiple documents; please use YAML.parseAllDocuments()',
    ]);
  });

  it('unknown keys, at any depth', () => {
    expect(problems(db('    url: postgres://db/users\n    colour: red\n'))).toEqual([
      'justfn.yaml: resources.db.colour: unknown key',
    ]);
    expect(problems('name: users\nhttp: { prot: 80 }\ndeploy: { knative: { minscale: 1 } }\n')).toEqual([
      'justfn.yaml: http.prot: unknown key',
      'justfn.yaml: deploy.knative.minscale: unknown key',
    ]);
  });

  it("keys named after Object.prototype's members are unknown keys too", () => {
    expect(
      problems(
        'name: users\nconstructor: hello\ntoString: a\nvalueOf: 3\n__proto__: z\nhttp: { constructor: 1 }\n' +
          'deploy: { isPrototypeOf: yes }\nresources:\n  web: { kind: http, origin: "http://a", hasOwnProperty: b }\n',
      ),
    ).toEqual([
      'justfn.yaml: constructor: unknown key',
      'justfn.yaml: toString: unknown key',
      'justfn.yaml: valueOf: unknown key',
      'justfn.yaml: __proto__: unknown key',
      'justfn.yaml: http.constructor: unknown key',
      'justfn.yaml: deploy.isPrototypeOf: unknown key',
      'justfn.yaml: resources.web.hasOwnProperty: unknown key',
    ]);
  });

  it('aliases that expand without end: one line, not an exception', () => {
    const rows = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (const [name, previous] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
      ['f', 'e'],
    ]) {
      rows.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`);
    }
    expect(problems(`name: users\n${rows.join('\n')}\n`)).toEqual([
      'justfn.yaml: bad YAML: Excessive alias count indicates a resource exhaustion attack',
    ]);
  });

  it.each([
    ['a sequence', 'name: users\nx: &x [*x]\n'],
    [
      'a mapping, inside a resource',
      'name: users\nresources:\n  db: &d { kind: http, origin: "http://h", warm: *d }\n',
    ],
  ])('an alias that refers to %s containing it: one line, not a stack overflow', (_what, text) => {
    expect(problems(text)).toEqual(['justfn.yaml: bad YAML: an alias refers to a node that contains it']);
  });

  it('wrong types and out-of-range values', () => {
    expect(problems(db('    url: postgres://db/users\n    pool: { min: 1, max: ten }\n'))).toEqual([
      'justfn.yaml: resources.db.pool.max: expected an integer, got "ten"',
    ]);
    expect(problems('name: Users_1\ntimeout: 0\nmemory: 1.5\nhttp: { port: 70000, event: apigw }\n')).toEqual(
      [
        'justfn.yaml: name: expected a DNS label: lowercase letters, digits and -, starting with a letter, got "Users_1"',
        'justfn.yaml: timeout: must be at least 1, got 0',
        'justfn.yaml: memory: expected an integer, got 1.5',
        'justfn.yaml: http.port: must be at most 65535, got 70000',
        'justfn.yaml: http.event: expected one of apigw-v2, apigw-v1, alb, got "apigw"',
      ],
    );
    expect(problems(db('    url: postgres://db/users\n    pool: { min: 3, max: 2 }\n'))).toEqual([
      'justfn.yaml: resources.db.pool.min: must not exceed pool.max (2), got 3',
    ]);
    // At the bound: a pool of exactly min = max connections is valid.
    expect(problems(db('    url: postgres://db/users\n    pool: { min: 2, max: 2 }\n'), {}, true)).toEqual(
      [],
    );
    expect(problems(db('    url: postgres://db/users?sslmode=allow\n'))).toEqual([
      'justfn.yaml: resources.db.url: sslmode=allow is not one pg knows (disable, prefer, require, verify-ca, verify-full, no-verify); pg would verify the certificate as for verify-full',
    ]);
    expect(problems('name: users\nresources:\n  db:\n')).toEqual([
      'justfn.yaml: resources.db: expected a mapping, got nothing',
    ]);
    // Every reply event would carry them, and every reply fail.
    const notString =
      'expected a CloudEvents String, without control characters, unpaired surrogates or noncharacters';
    expect(problems('name: users\nhttp: { replyType: "user\\tsaved", replySource: "/u\\u0001" }\n')).toEqual([
      `justfn.yaml: http.replyType: ${notString}, got "user\\tsaved"`,
      `justfn.yaml: http.replySource: ${notString}, got "/u\\u0001"`,
    ]);
    expect(problems('name: users\nhttp: { replyType: "a\\ufffeb" }\n')).toHaveLength(1);
    expect(problems('name: users\nhttp: { replyType: "a\\ud800b" }\n')).toHaveLength(1);
    expect(
      problems('name: users\nhttp: { replyType: "user.saved 🌍", replySource: "/ünï" }\n', {}, true),
    ).toEqual([]);
  });

  it('missing keys, kinds and names', () => {
    expect(problems('handler: index.handler\n')).toEqual(['justfn.yaml: name: required']);
    expect(problems(db(''))).toEqual(['justfn.yaml: resources.db.url: required']);
    expect(problems('name: users\nresources:\n  a: { url: x }\n  b: { kind: redis }\n')).toEqual([
      'justfn.yaml: resources.a.kind: required (one of postgres, grpc, http)',
      'justfn.yaml: resources.b.kind: expected one of postgres, grpc, http, got "redis"',
    ]);
    expect(problems("name: users\nresources:\n  my-db: { kind: http, origin: 'http://x' }\n")).toEqual([
      'justfn.yaml: resources.my-db: not a valid name: a resource name is a JavaScript identifier (letters, digits, _ and $, not starting with a digit), other than then, constructor, toJSON and __proto__',
    ]);
    expect(problems('')).toEqual(['justfn.yaml: expected a mapping, got nothing']);
  });

  it('a missing variable and an unreadable secret file', () => {
    expect(problems(db('    url: ${DATABASE_URL}\n'))).toEqual([
      'justfn.yaml: resources.db.url: ${DATABASE_URL} is not set',
    ]);
    const yaml =
      'name: users\nresources:\n  auth:\n    kind: grpc\n    target: ${file:/run/secrets/x}\n    proto: a.proto\n    service: a.A\n';
    expect(problems(yaml)).toEqual([
      'justfn.yaml: resources.auth.target: ${file:/run/secrets/x} cannot be read (ENOENT)',
    ]);
  });

  it('grpc and http together', () => {
    expect(
      problems('name: users\nhttp: { port: 8080 }\ngrpc: { proto: users.proto, service: users.v1.Users }\n'),
    ).toEqual([
      'justfn.yaml: grpc: cannot be used together with http: a function serves either HTTP or gRPC on $PORT',
    ]);
  });

  it('a PostgreSQL URL pg cannot read: named, never quoted (it holds the password)', () => {
    const unreadable =
      'is not a URL pg can read: a port from 1 to 65535, and /, # or ? in the user or password percent-encoded (%2F, %23, %3F)';
    for (const url of [
      'postgres://app:pw@127.0.0.1:99999/users',
      'postgres://app:pw@127.0.0.1:0/users',
      'postgres://app:Sec/ret3@db/users',
      'postgres://app:Sec#ret4@db/users',
      'postgres://app:pw@[::1/users',
      // An @ before the raw /, # or ?: the authority ends there, and pg would connect to host `ss`.
      'postgres://app:p@ss#word1234@db.example.com:5432/app',
      'postgres://app:p@ss/w0rd#xyz@db:5432/app',
      'postgres://app:Tr0ub4dor@3?xyz@db/app',
    ]) {
      const lines = problems(db(`    url: \${DATABASE_URL}\n`), { DATABASE_URL: url });
      expect(lines).toEqual([`justfn.yaml: resources.db.url: ${unreadable}`]);
    }
    // What pg reads although `new URL` would not: a space, a socket directory.
    for (const url of [
      'postgres://app:p w@db/users',
      'postgres://app@/users?host=/var/run/postgresql',
      'postgres://app:p@ss@db/users',
      // An @ in a query parameter's value is the value's (Azure's user@server, a socket path).
      'postgres://db.example.com/app?user=app@tenant&password=pw',
      'postgres://app:pw@db.example.com/app?application_name=svc@host',
      'postgres://app@/users?host=/var/run/pg@x',
    ]) {
      expect(() => loadServiceConfig(file(db(`    url: '${url}'\n`)), {})).not.toThrow();
    }
  });

  it('a gRPC target or an HTTP origin no connection can use: named, never quoted, refused before any retry', () => {
    const grpc = (target: string) =>
      problems(
        `name: users\nresources:\n  auth: { kind: grpc, target: "\${T}", proto: a.proto, service: a.A }\n`,
        { T: target },
        true,
      );
    const badTarget =
      'justfn.yaml: resources.auth.target: is not a target grpc-js can connect to: host:port or dns:///host:port, with a port from 1 to 65535 and no path';
    for (const target of [
      '127.0.0.1:99999',
      'auth:0',
      'auth:50051/path',
      'http://auth:50051',
      'dns:///auth:70000',
    ])
      expect(grpc(target)).toEqual([badTarget]);
    for (const target of [
      'auth:50051',
      'dns:///auth:50051',
      'dns://8.8.8.8/auth:443',
      '[::1]:50051',
      'unix:/run/auth.sock',
    ])
      expect(grpc(target)).toEqual([]);
    const http = (origin: string) =>
      problems('name: users\nresources:\n  web: { kind: http, origin: "${O}" }\n', { O: origin }, true);
    for (const origin of ['http://127.0.0.1:99999', 'http://x:0'])
      expect(http(origin)).toEqual([
        'justfn.yaml: resources.web.origin: is not an origin undici can connect to: scheme://host with a port from 1 to 65535, if any',
      ]);
    expect(http('https://billing:8443')).toEqual([]);
  });

  it('an image reference Kubernetes could not pull', () => {
    const image = (ref: string) => problems(`name: users\ndeploy:\n  image: '${ref}'\n`);
    const expected = (ref: string) => [
      `justfn.yaml: deploy.image: expected an image reference, e.g. registry.example.com/users:1.4.2 (lower-case repository path, optional :tag and @sha256:digest), got "${ref}"`,
    ];
    for (const bad of [
      'registry.example.com/Users:1',
      'users:1 ',
      'users::1',
      'users@sha256:abc',
      '/users',
    ]) {
      expect(image(bad)).toEqual(expected(bad));
    }
    const digest = 'a'.repeat(64);
    for (const good of [
      'users',
      'registry.example.com/users:1.4.2',
      'localhost:5000/team/users_api:v1-rc.2',
      '[::1]:5000/users',
      `ghcr.io/acme/users@sha256:${digest}`,
      `ghcr.io/acme/users:2@sha256:${digest}`,
    ]) {
      expect(loadServiceConfig(file(`name: users\ndeploy:\n  image: '${good}'\n`), {}).config.deploy).toEqual(
        {
          image: good,
        },
      );
    }
  });

  it('several problems at once, each on its own line', () => {
    expect(problems(db('    url: ${DATABASE_URL}\n    pool: { max: ten }\n    colour: red\n'))).toEqual([
      'justfn.yaml: resources.db.url: ${DATABASE_URL} is not set',
      'justfn.yaml: resources.db.pool.max: expected an integer, got "ten"',
      'justfn.yaml: resources.db.colour: unknown key',
    ]);
  });

  it('never shows a value that came from a variable or a file', () => {
    const env = { DATABASE_URL: 'mysql://app:hunter2@db/users', TIMEOUT: 'hunter3' };
    const lines = problems(`timeout: \${TIMEOUT}\n${db('    url: ${DATABASE_URL}\n')}`, env);
    expect(lines).toEqual([
      'justfn.yaml: timeout: expected an integer, got a value from a substitution',
      'justfn.yaml: resources.db.url: expected a PostgreSQL URL, postgres://user:password@host:5432/database, got a value from a substitution',
    ]);
    expect(lines.join('\n')).not.toMatch(/hunter/);
  });

  it('a file that cannot be read, and an error without a stack', () => {
    const missing = join(root, 'nowhere', 'justfn.yaml');
    const error = (() => {
      try {
        loadServiceConfig(missing, {});
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(error?.problems).toEqual([`${missing}: cannot be read (ENOENT)`]);
    expect(error?.code).toBe('CONFIG_INVALID');
    expect(error?.name).toBe('Runtime.InvalidConfig');
    expect(error?.stack).toBe(`Runtime.InvalidConfig: ${missing}: cannot be read (ENOENT)`);
  });
});

describe('loadServiceConfig: a valid file', () => {
  it('applies every default', () => {
    const { config, variables, files, secrets } = loadServiceConfig(file('name: users\n'), {});
    expect(config).toEqual({
      name: 'users',
      handler: 'index.handler',
      timeout: 300,
      concurrency: 64,
      http: { port: 8080, event: 'apigw-v2' },
      resources: {},
    });
    expect([variables, files, [...secrets]]).toEqual([[], [], []]);
  });

  it('loads the example of DESIGN §5, with resource and deploy defaults, deeply frozen', () => {
    const path = file(designExample);
    const env = { DATABASE_URL: 'postgres://users:${file:ignored}@db:5432/users' };
    const loaded = loadServiceConfig(path, env);
    expect(loaded.config.resources).toEqual({
      db: { kind: 'postgres', url: env.DATABASE_URL, pool: { min: 1, max: 10 } },
      auth: {
        kind: 'grpc',
        target: 'auth.default.svc.cluster.local:50051',
        proto: 'protos/auth.proto',
        service: 'auth.v1.Auth',
      },
      billing: { kind: 'http', origin: 'http://billing.default.svc.cluster.local', warm: '/' },
    });
    expect(loaded.config.deploy).toEqual({
      image: 'registry.example.com/users:1.4.2',
      knative: { minScale: 0, maxScale: 20, target: 50 },
      kubernetes: { replicas: 2, host: 'users.example.com' },
      lambda: { architecture: 'arm64' },
    });
    expect(loaded.config.http).toEqual({ port: 8080, event: 'apigw-v2' });
    expect(Object.isFrozen(loaded.config.resources.db)).toBe(true);
    expect(loaded.variables).toEqual(['DATABASE_URL']);
    expect(loaded.baseDir).toBe(join(path, '..'));
  });

  it('in gRPC mode has no http block', () => {
    const { config } = loadServiceConfig(
      file('name: users\ngrpc: { proto: u.proto, service: users.v1.Users }\n'),
      {},
    );
    expect(config.grpc).toEqual({ proto: 'u.proto', service: 'users.v1.Users' });
    expect(config.http).toBeUndefined();
  });
});

const designExample = `name: users
handler: src/users.handler
timeout: 30
memory: 512
concurrency: 50
http:
  port: 8080
  event: apigw-v2
resources:
  db:
    kind: postgres
    url: \${DATABASE_URL}
    pool: { min: 1, max: 10 }
  auth:
    kind: grpc
    target: auth.default.svc.cluster.local:50051
    proto: protos/auth.proto
    service: auth.v1.Auth
  billing:
    kind: http
    origin: http://billing.default.svc.cluster.local
deploy:
  image: registry.example.com/users:1.4.2
  knative: { minScale: 0, maxScale: 20, target: 50 }
  kubernetes: { replicas: 2, host: users.example.com }
  lambda: { architecture: arm64 }
`;
