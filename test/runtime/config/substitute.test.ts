// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are justfn.yaml's own ${...} syntax.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../runtime/config/config-error.js';
import { loadServiceConfig } from '../../../runtime/config/load.js';
import { REDACTED, redactSecrets, redactUrl, secretForms } from '../../../runtime/config/redact.js';
import { substitute } from '../../../runtime/config/substitute.js';

const dir = mkdtempSync(join(tmpdir(), 'justfn-substitute-'));
mkdirSync(join(dir, 'secrets'));
writeFileSync(join(dir, 'secrets', 'password'), 'from-file\n\n');
writeFileSync(join(dir, 'secrets', 'crlf'), 'crlf-secret\r\n');
writeFileSync(join(dir, 'secrets', 'latin1'), Buffer.from([0x70, 0xe4, 0x73, 0x73]));
writeFileSync(join(dir, 'secrets', 'huge'), Buffer.alloc(1024 * 1024 + 1, 0x61));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (value: unknown, env: Record<string, string | undefined> = {}) =>
  substitute(value, { env, baseDir: dir });

describe('substitute', () => {
  it('replaces ${VAR} and records the name and the value as a secret', () => {
    const out = run({ url: 'postgres://app:${PW}@db/x', list: ['${PW}'] }, { PW: 'hunter2' });
    expect(out.value).toEqual({ url: 'postgres://app:hunter2@db/x', list: ['hunter2'] });
    expect(out.variables).toEqual(['PW']);
    expect([...out.secrets]).toEqual(['hunter2']);
    expect(out.problems).toEqual([]);
  });

  it('uses ${VAR:-default} when VAR is unset or empty; a default is not a secret', () => {
    const template = { a: '${A:-one}', b: '${B:-two}', c: '${C:-}', d: '${D:-x:-y}' };
    const out = run(template, { B: '', C: 'value' });
    expect(out.value).toEqual({ a: 'one', b: 'two', c: 'value', d: 'x:-y' });
    expect(out.variables).toEqual(['A', 'B', 'C', 'D']);
    expect([...out.secrets]).toEqual(['value']);
  });

  it('an empty ${VAR} is set (only :- falls back)', () => {
    expect(run({ a: 'x${E}y' }, { E: '' }).value).toEqual({ a: 'xy' });
  });

  it('reads ${file:PATH} relative to the config directory, less one trailing newline', () => {
    const out = run({
      a: '${file:secrets/password}',
      b: '${file:secrets/crlf}',
      c: `\${file:${dir}/secrets/crlf}`,
    });
    expect(out.value).toEqual({ a: 'from-file\n', b: 'crlf-secret', c: 'crlf-secret' });
    expect([...out.secrets]).toEqual(['from-file\n', 'crlf-secret']);
    expect(out.files).toEqual([join(dir, 'secrets', 'password'), join(dir, 'secrets', 'crlf')]);
  });

  it('a ${file:...} that is no regular file, is over 1 MiB or is not UTF-8: a problem, not a hang or a guess', () => {
    const out = run({
      a: '${file:/dev/zero}',
      b: '${file:secrets}',
      c: '${file:secrets/huge}',
      d: '${file:secrets/latin1}',
    });
    expect(out.problems).toEqual([
      { path: ['a'], message: '${file:/dev/zero} is not a regular file' },
      { path: ['b'], message: '${file:secrets} is not a regular file' },
      { path: ['c'], message: '${file:secrets/huge} is larger than 1 MiB' },
      { path: ['d'], message: '${file:secrets/latin1} is not UTF-8 text' },
    ]);
  });

  it('$${ is a literal ${, never substituted', () => {
    const out = run({ a: '$${HOME}', b: 'cost: $$5 and $${', c: '$${A}${A}' }, { A: 'x', HOME: '/root' });
    expect(out.value).toEqual({ a: '${HOME}', b: 'cost: $$5 and ${', c: '${A}x' });
    expect(out.variables).toEqual(['A']);
  });

  it('leaves keys, numbers and booleans alone, and never substitutes a substituted value again', () => {
    const out = run({ '${A}': 1, b: true, c: null, d: '${A}' }, { A: '${B}', B: 'no' });
    expect(out.value).toEqual({ '${A}': 1, b: true, c: null, d: '${B}' });
  });

  it('reports unset variables, unreadable files and malformed expressions by path', () => {
    const out = run({ a: { b: '${NOPE}' }, c: '${file:missing}', d: 'x${1A}', e: '${A:?no}', f: 'tail ${A' });
    expect(out.problems).toEqual([
      { path: ['a', 'b'], message: '${NOPE} is not set' },
      { path: ['c'], message: '${file:missing} cannot be read (ENOENT)' },
      {
        path: ['d'],
        message:
          '"${1A}" is not a valid substitution: use ${VAR}, ${VAR:-default} or ${file:PATH}, and $${ for a literal ${',
      },
      {
        path: ['e'],
        message:
          '"${A:?no}" is not a valid substitution: use ${VAR}, ${VAR:-default} or ${file:PATH}, and $${ for a literal ${',
      },
      {
        path: ['f'],
        message:
          '"${A" is not a valid substitution: use ${VAR}, ${VAR:-default} or ${file:PATH}, and $${ for a literal ${',
      },
    ]);
    expect(run({ target: '${A:-${B:-localhost:50051}}' }).problems).toEqual([
      {
        path: ['target'],
        message:
          '"${A:-${B:-localhost:50051}": substitutions do not nest; use ${VAR}, ${VAR:-default} or ${file:PATH}, and $${ for a literal ${',
      },
    ]);
  });

  it('a URL from a variable makes its password a secret too, as written and decoded', () => {
    const out = run({ url: '${DATABASE_URL}' }, { DATABASE_URL: 'postgres://app:p%40ss@db/x' });
    expect([...out.secrets]).toEqual(['postgres://app:p%40ss@db/x', 'p%40ss', 'p@ss']);
  });
});

describe('numbers and booleans from variables', () => {
  const config = (text: string, env: Record<string, string>) => {
    const path = join(dir, `n${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(path, text);
    return loadServiceConfig(path, env).config;
  };

  it('a value that is exactly one substitution becomes the number the schema asks for', () => {
    const loaded = config('name: users\ntimeout: ${T}\nhttp: { port: "${PORT:-9090}" }\n', { T: '30' });
    expect(loaded.timeout).toBe(30);
    expect(loaded.http?.port).toBe(9090);
  });

  it('but not when the substitution is only part of the value', () => {
    expect(() => config('name: users\ntimeout: 1${T}\n', { T: '0' })).toThrow(ConfigError);
    expect(() => config('name: users\ntimeout: 1${T}\n', { T: '0' })).toThrow(
      /timeout: expected an integer, got a value from a substitution$/,
    );
  });
});

describe('redaction', () => {
  it('redactSecrets removes every secret, longest first, and ignores empty ones', () => {
    const secrets = new Set(['hunter2', 'postgres://app:hunter2@db/x', '']);
    expect(redactSecrets('url postgres://app:hunter2@db/x, pw hunter2 hunter2', secrets)).toBe(
      `url ${REDACTED}, pw ${REDACTED} ${REDACTED}`,
    );
  });

  it('redactSecrets leaves no character of overlapping secrets, and never matches inside [redacted]', () => {
    // 'abc' starts first, 'bcdef' reaches further: the whole stretch goes, not 'abc' leaving 'def'.
    expect(redactSecrets('x abcdef y', ['abc', 'bcdef'])).toBe(`x ${REDACTED} y`);
    // 'dact' is in '[redacted]': a second pass would have cut into the first one's marker.
    expect(redactSecrets('red dact', ['red', 'dact'])).toBe(`${REDACTED} ${REDACTED}`);
    fc.assert(
      fc.property(
        fc.string({ maxLength: 30 }),
        fc.array(fc.string({ minLength: 1, maxLength: 5 })),
        (text, secrets) => {
          const out = redactSecrets(text, secrets);
          for (const secret of secrets) {
            expect(out.replaceAll(REDACTED, '\u0000').includes(secret)).toBe(false);
          }
        },
      ),
    );
  });

  it('redactUrl masks a password and nothing else', () => {
    expect(redactUrl('postgres://app:hunter2@db:5432/x?sslmode=require')).toBe(
      'postgres://app:***@db:5432/x?sslmode=require',
    );
    expect(redactUrl('postgres://app@db/x')).toBe('postgres://app@db/x');
    expect(redactUrl('http://billing')).toBe('http://billing');
  });

  it('secretForms: a value, its URL password, and the decoded password', () => {
    expect(secretForms('')).toEqual([]);
    expect(secretForms('plain')).toEqual(['plain']);
    expect(secretForms('postgres://a:bcde@c/d')).toEqual(['postgres://a:bcde@c/d', 'bcde']);
  });

  it('secretForms: a URL without a password is secret down to its host, which connection errors name', () => {
    const origin = 'http://Internal-Billing.corp.invalid:8443';
    expect(secretForms(origin)).toEqual([
      origin,
      'Internal-Billing.corp.invalid:8443',
      'internal-billing.corp.invalid:8443',
      'internal-billing.corp.invalid',
      'Internal-Billing.corp.invalid',
    ]);
    const forms = new Set([origin, 'http://127.0.0.1:18093'].flatMap(secretForms));
    expect(redactSecrets('getaddrinfo ENOTFOUND internal-billing.corp.invalid', forms)).toBe(
      'getaddrinfo ENOTFOUND [redacted]',
    );
    expect(redactSecrets('connect ECONNREFUSED 127.0.0.1:18093', forms)).toBe(
      'connect ECONNREFUSED [redacted]',
    );
    // A name without a dot is also the resource's name, in every message: left alone.
    expect(secretForms('http://billing')).toEqual(['http://billing']);
  });

  it('secretForms: short strings and small numbers are no secrets, and are not cut out of messages', () => {
    expect(['5', '/', 'yes', '8080', '50051'].flatMap(secretForms)).toEqual([]);
    expect(secretForms('123456')).toEqual(['123456']);
    // A URL's short password is not cut out of every message either; where the URL is printed it is masked.
    expect(secretForms('postgres://u:p@127.0.0.1:1/x')).toEqual(['postgres://u:p@127.0.0.1:1/x']);
    expect(redactUrl('postgres://u:p@127.0.0.1:1/x')).toBe('postgres://u:***@127.0.0.1:1/x');
    const message = 'resource db (postgres://u:***@127.0.0.1:1/x): channel not READY within 5000 ms';
    expect(redactSecrets(message, new Set(['5', '1', 'p'].flatMap(secretForms)))).toBe(message);
  });

  it('a password with an unencoded @ is masked whole, as the driver reads it (the last @ ends it)', () => {
    const url = 'postgres://app4:Tr0ub@dor&3@127.0.0.1:55439/postgres';
    expect(redactUrl(url)).toBe('postgres://app4:***@127.0.0.1:55439/postgres');
    expect(secretForms(url)).toEqual([url, 'Tr0ub@dor&3']);
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'ab@:&%!$*_-'.split('')), minLength: 1, maxLength: 20 }),
        (password) => {
          const written = `postgres://app:${password}@db.internal:5432/users`;
          const parsed = new URL(written);
          expect(parsed.host).toBe('db.internal:5432');
          expect(redactUrl(written)).toBe('postgres://app:***@db.internal:5432/users');
          if (password.length >= 4) expect(secretForms(written)[1]).toBe(password);
        },
      ),
    );
  });
});
