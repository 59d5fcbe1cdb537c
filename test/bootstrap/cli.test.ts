import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { freePort } from '../helpers/postgres.js';
import { cleanEnv, spawnCaptured } from '../helpers/process.js';
import { tempDir } from '../helpers/temp.js';

describe('justfn --help', () => {
  // `start` takes a fast path past the command-line bundle; --help must not become its handler string.
  it.each(['start', 'invoke', 'emulate', 'check', 'manifests', 'layer'])(
    'justfn %s --help prints the usage and exits 0',
    async (command) => {
      const run = spawnCaptured(['node', 'bin/justfn.cjs', command, '--help'], cleanEnv({}));
      expect(await run.exited).toBe(0);
      expect(run.stdout()).toMatch(/^justfn \S+: one Lambda handler/);
      expect(run.stdout()).toContain(`justfn ${command} `);
      expect(run.stderr()).toBe('');
    },
  );
});

describe('justfn [handler]', () => {
  const run = async (args: string[], env: Record<string, string> = {}) => {
    const spawned = spawnCaptured(['node', 'bin/justfn.cjs', ...args], cleanEnv({ PORT: '0', ...env }));
    return { code: await spawned.exited, stderr: spawned.stderr() };
  };

  it.each(['start', 'invoke', 'check'])(
    'justfn %s examples/helo: no such directory, exit 2',
    async (command) => {
      expect(await run([command, 'examples/helo'])).toEqual({
        code: 2,
        stderr: expect.stringContaining(
          'examples/helo: no such directory, and not a handler string (file.export, e.g. index.handler)\n',
        ),
      });
    },
  );

  // A second argument is a mistake (a handler and a directory, a stray word): nothing is served.
  const oneHandler = ': name one handler or directory\n';
  it.each([
    [
      ['start', 'examples/hello', 'index.handler'],
      `justfn: start: unexpected argument 'index.handler'${oneHandler}`,
    ],
    [['invoke', 'examples/hello', 'extra'], `justfn: unexpected argument 'extra'${oneHandler}`],
    [['check', 'examples/hello', 'extra'], `justfn: unexpected argument 'extra'${oneHandler}`],
    [['emulate', 'examples/hello', 'extra'], `justfn: unexpected argument 'extra'${oneHandler}`],
    [
      ['manifests', 'examples/hello', 'extra', '--target', 'knative'],
      "justfn: manifests: unexpected argument 'extra': name one directory or justfn.yaml\n",
    ],
  ])('justfn %j: one handler or directory only, exit 2', async (args, stderr) => {
    expect(await run(args)).toEqual({ code: 2, stderr });
  });

  it('justfn manifests of a path that does not exist: a usage error naming it, exit 2', async () => {
    expect(await run(['manifests', 'no/such/dir', '--target', 'knative'])).toEqual({
      code: 2,
      stderr:
        'justfn: manifests: no/such/dir: no such directory or file (name a directory or its justfn.yaml)\n',
    });
  });

  it('justfn start --bogus is an unknown option, not a handler', async () => {
    expect(await run(['start', '--bogus'])).toEqual({
      code: 2,
      stderr: "justfn: start: unknown option '--bogus'\n",
    });
  });

  it.each([
    [
      ['start', 'examples/hello'],
      'AWS_LAMBDA_FUNCTION_MEMORY_SIZE="lots": expected a whole number from 128 to 10240',
    ],
    [
      ['invoke', 'examples/hello'],
      'AWS_LAMBDA_FUNCTION_MEMORY_SIZE="lots": expected a whole number from 128 to 10240',
    ],
  ])('a variable that does not parse: one line naming it, exit 2 (justfn %s)', async (args, message) => {
    expect(await run(args, { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: 'lots' })).toEqual({
      code: 2,
      stderr: `justfn: ${message}\n`,
    });
  });

  it('justfn invoke --event naming no file: one line, exit 2 (1 is a function error)', async () => {
    expect(await run(['invoke', 'examples/hello', '--event', 'nope.json'])).toEqual({
      code: 2,
      stderr: 'justfn: --event nope.json: cannot be read (ENOENT)\n',
    });
  });

  it("justfn invoke runs the function as Lambda mode does: LOG_LEVEL is the function's own", async () => {
    expect(await run(['invoke', 'examples/hello'], { LOG_LEVEL: 'silent' })).toMatchObject({ code: 0 });
  });

  it('justfn emulate with AWS_LAMBDA_MAX_CONCURRENCY emulates Managed Instances: that many invocations at once', async () => {
    const port = await freePort();
    const emulate = spawnCaptured(
      [
        'node',
        'bin/justfn.cjs',
        'emulate',
        'test/fixtures/handlers/side-by-side/index.buffered',
        '--port',
        String(port),
      ],
      cleanEnv({ AWS_LAMBDA_MAX_CONCURRENCY: '2' }),
    );
    onTestFinished(() => void emulate.kill('SIGTERM'));
    await emulate.waitForOutput('a local Lambda on');
    const invoke = (body: object) =>
      request(`http://127.0.0.1:${port}/2015-03-31/functions/function/invocations`, {
        method: 'POST',
        body: JSON.stringify(body),
      });
    // An invocation that waits for a release, then the release: handed out one at a time, the second
    // would wait for the first, which waits for it.
    const held = invoke({ name: 'a' });
    await emulate.waitForOutput('START RequestId');
    expect(await (await invoke({ release: true })).body.json()).toBe('released');
    expect(await (await held).body.json()).toBe('a ended');
  });

  it.each([
    ['start', 1],
    ['check', 1],
    ['invoke', 1],
  ])(
    'justfn %s: a handler module whose top-level await never finishes is an import error, exit %i, not a silent 0',
    async (command, code) => {
      const spawned = spawnCaptured(
        ['node', 'bin/justfn.cjs', command, 'test/fixtures/handlers/tla-never/index.handler'],
        cleanEnv({ PORT: '0', JUSTFN_METRICS_PORT: '0' }),
      );
      expect(await spawned.exited).toBe(code);
      expect(`${spawned.stdout()}${spawned.stderr()}`).toMatch(
        /Runtime\.ImportModuleError: \S+tla-never\/index\.mjs: its top-level await never finished: it awaits a promise that nothing is left to settle/,
      );
    },
  );

  it('justfn emulate with an AWS_LAMBDA_FUNCTION_TIMEOUT that does not parse names it, exit 2', async () => {
    expect(await run(['emulate', 'examples/hello'], { AWS_LAMBDA_FUNCTION_TIMEOUT: 'abc' })).toEqual({
      code: 2,
      stderr: 'justfn: AWS_LAMBDA_FUNCTION_TIMEOUT="abc": expected a whole number from 1 to 86400\n',
    });
  });

  it('justfn emulate --port abc names the flag, exit 2', async () => {
    expect(await run(['emulate', 'examples/hello', '--port', 'abc'])).toEqual({
      code: 2,
      stderr: 'justfn: --port="abc": expected a whole number from 0 to 65535\n',
    });
  });
});

describe('justfn check --types', () => {
  it('writes the Resources type before the handler is checked, so a TypeScript build can run it first', async () => {
    const dir = tempDir('types');
    writeFileSync(
      path.join(dir, 'justfn.yaml'),
      // biome-ignore lint/suspicious/noTemplateCurlyInString: justfn.yaml's own ${...} syntax.
      'name: typed\nhandler: dist/api.handler\nresources:\n  db: { kind: postgres, url: "${DATABASE_URL:-postgres://localhost/db}" }\n',
    );
    // In a directory that does not exist yet: made.
    const types = path.join(dir, 'src', 'resources.d.ts');
    const check = () => {
      const spawned = spawnCaptured(['node', 'bin/justfn.cjs', 'check', dir, '--types', types], cleanEnv({}));
      return spawned.exited.then((code) => ({ code, stdout: spawned.stdout(), stderr: spawned.stderr() }));
    };
    // Not compiled yet: the handler is missing, and the type is written anyway.
    const before = await check();
    expect(before.code).toBe(1);
    expect(before.stderr).toContain('Runtime.ImportModuleError');
    expect(readFileSync(types, 'utf8')).toContain("db: 'postgres';");
    mkdirSync(path.join(dir, 'dist'));
    writeFileSync(path.join(dir, 'dist', 'api.js'), 'exports.handler = async () => 1;\n');
    const after = await check();
    expect([after.code, after.stdout]).toEqual([
      0,
      // Outside the working directory: the whole path.
      `${path.join(dir, 'justfn.yaml')}: ok — handler dist/api.handler, resources db (postgres), types written to ${types}\n`,
    ]);
  });
});

describe('justfn check with a mistyped handler', () => {
  it("says where it looked and what is there, after AWS's own message", async () => {
    const dir = tempDir('typo');
    cpSync('examples/hello', dir, { recursive: true });
    const yaml = path.join(dir, 'justfn.yaml');
    writeFileSync(
      yaml,
      readFileSync(yaml, 'utf8').replace('handler: index.handler', 'handler: indx.handler'),
    );
    const spawned = spawnCaptured(['node', 'bin/justfn.cjs', 'check', dir], cleanEnv({}));
    expect(await spawned.exited).toBe(1);
    expect(spawned.stderr()).toBe(
      `handler indx.handler: Runtime.ImportModuleError: Error: Cannot find module 'indx' (looked for indx.js, .mjs and .cjs in ${dir}; it has index.mjs)\n`,
    );
  });
});

describe('justfn check in gRPC mode', () => {
  const check = async (dir: string) => {
    const spawned = spawnCaptured(['node', 'bin/justfn.cjs', 'check', dir], cleanEnv({}));
    const code = await spawned.exited;
    return { code, stdout: spawned.stdout(), stderr: spawned.stderr() };
  };

  it('accepts a handler that is an object of methods, as `start` serves it', async () => {
    const { code, stdout } = await check('examples/auth');
    expect([code, stdout]).toEqual([0, 'examples/auth/justfn.yaml: ok — handler index.auth\n']);
  });

  it('refuses a grpc block whose .proto is missing or does not name the service, as `start` would', async () => {
    const dir = tempDir('grpc-check');
    cpSync('examples/auth', dir, { recursive: true });
    const yaml = readFileSync(path.join(dir, 'justfn.yaml'), 'utf8');
    writeFileSync(
      path.join(dir, 'justfn.yaml'),
      yaml.replace('service: auth.v1.Auth', 'service: auth.v1.Nope'),
    );
    const wrongService = await check(dir);
    expect(wrongService.code).toBe(1);
    expect(wrongService.stderr).toMatch(/justfn\.yaml: grpc: .*auth\.v1\.Nope.*auth\.v1\.Auth/);
    writeFileSync(path.join(dir, 'justfn.yaml'), yaml.replace(/proto: \S+/, 'proto: missing.proto'));
    const missingProto = await check(dir);
    expect(missingProto.code).toBe(1);
    expect(missingProto.stderr).toMatch(/justfn\.yaml: grpc: .*missing\.proto/);
    // Every method name mistyped: each call would be UNIMPLEMENTED.
    writeFileSync(path.join(dir, 'justfn.yaml'), yaml);
    writeFileSync(path.join(dir, 'index.mjs'), 'export const auth = { Verfy() {} };\n');
    const typo = await check(dir);
    expect([typo.code, typo.stderr]).toEqual([
      1,
      "handler index.auth: serves none of auth.v1.Auth's methods (Verify); it has Verfy\n",
    ]);
  });
});

describe('justfn start on a port that is taken', () => {
  it.each([
    ['HTTP', 'examples/hello'],
    ['gRPC', 'test/fixtures/grpc/greeter'],
  ])('%s mode says so in one line, and which variable picks another; exit 1', async (_mode, dir) => {
    const { createServer } = await import('node:net');
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '0.0.0.0', resolve));
    const port = (holder.address() as import('node:net').AddressInfo).port;
    try {
      const spawned = spawnCaptured(
        ['node', 'bin/justfn.cjs', 'start', dir],
        cleanEnv({ PORT: String(port), JUSTFN_METRICS_PORT: '0' }),
      );
      expect(await spawned.exited).toBe(1);
      const lines = spawned
        .stdout()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(lines.filter((line) => line.level !== 'info')).toEqual([
        expect.objectContaining({
          level: 'fatal',
          msg: `cannot listen on 0.0.0.0:${port}: port ${port} is already in use (stop what holds it, or set PORT to another)`,
        }),
      ]);
    } finally {
      holder.close();
    }
  });
});
