import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/postgres.js';
import { cleanEnv, handlers, repoRoot, runtimeCommand, spawnCaptured } from '../helpers/process.js';
import { tempDir } from '../helpers/temp.js';
import { createCleanup, fixture, startOnFakeApi, textLines } from './harness.js';

// A `justfn.yaml` that cannot be used, of each kind: one precise line naming the file and the place,
// a non-zero exit — the same line from `justfn check`, from Lambda's init (`/init/error`,
// `Runtime.InvalidConfig`) and from HTTP mode's start.

const cleanup = createCleanup();
afterEach(cleanup.run);

const file = (kind: string) => path.join(fixture(`broken/${kind}`), 'justfn.yaml');
const kinds: [kind: string, problem: (file: string) => string][] = [
  [
    'bad-yaml',
    (f) => `${f}:4:1: bad YAML: Flow map in block collection must be sufficiently indented and end with a }`,
  ],
  ['unknown-key', (f) => `${f}: resources.db.colour: unknown key`],
  ['wrong-type', (f) => `${f}: resources.db.pool.max: expected an integer, got "ten"`],
  ['missing-variable', (f) => `${f}: resources.db.url: \${DATABASE_URL} is not set`],
  [
    'unreadable-secret',
    (f) => `${f}: resources.db.url: \${file:secrets/db-password} cannot be read (ENOENT)`,
  ],
];

describe.each(kinds)('a broken justfn.yaml: %s', (kind, problemOf) => {
  const dir = fixture(`broken/${kind}`);
  const problem = problemOf(file(kind));

  it('justfn check prints the one problem, naming the file as seen from the working directory, and exits 1', async () => {
    const inDir = spawnCaptured(['node', path.join(repoRoot, 'bin/justfn.cjs'), 'check'], cleanEnv(), dir);
    expect(await inDir.exited).toBe(1);
    expect([inDir.stdout(), inDir.stderr()]).toEqual(['', `${problemOf('justfn.yaml')}\n`]);
    const fromRoot = spawnCaptured(['node', 'bin/justfn.cjs', 'check', dir], cleanEnv());
    expect(await fromRoot.exited).toBe(1);
    expect(fromRoot.stderr()).toBe(`${problemOf(path.relative(repoRoot, file(kind)))}\n`);
  });

  it('Lambda mode: /init/error with Runtime.InvalidConfig and the problem, exit 129', async () => {
    const { fake, runtime, close } = await startOnFakeApi(dir, {});
    cleanup.add(close);
    const posted = await fake.waitFor((r) => r.path === '/2018-06-01/runtime/init/error');
    expect(posted.headers['lambda-runtime-function-error-type']).toBe('Runtime.InvalidConfig');
    expect(posted.headers['content-type']).toBe('application/json');
    expect(posted.headers['user-agent']).toMatch(/^justfn\/\d+\.\d+\.\d+/);
    const payload = JSON.parse(posted.body.toString()) as Record<string, unknown>;
    expect(payload).toMatchObject({ errorType: 'Runtime.InvalidConfig', errorMessage: problem });
    expect(await runtime.exited).toBe(129);
    // One log line: `Init Error`, then the error's fields as JSON (AWS's Text layout).
    const logged = textLines(runtime.stdout());
    expect(logged.map((l) => [l.level, l.message.split('\t')[0]])).toEqual([['ERROR', 'Init Error ']]);
    const details = JSON.parse(logged[0]!.message.split('\t')[1]!) as Record<string, unknown>;
    expect(details).toMatchObject({ errorType: 'Runtime.InvalidConfig', errorMessage: problem });
  });

  it('justfn emulate: says so, serves, and each invocation answers Runtime.InvalidConfig, as Lambda', async () => {
    const port = await freePort();
    const emulate = spawnCaptured(
      ['node', 'bin/justfn.cjs', 'emulate', dir, '--port', String(port)],
      cleanEnv(),
    );
    cleanup.add(() => emulate.kill());
    await emulate.waitForOutput('a local Lambda on');
    expect(emulate.stderr()).toContain(`justfn emulate: ${problem}\n`);
    const reply = await request(`http://127.0.0.1:${port}/2015-03-31/functions/function/invocations`, {
      method: 'POST',
      body: '{}',
    });
    expect(reply.headers['x-amz-function-error']).toBe('Unhandled');
    expect(await reply.body.json()).toMatchObject({
      errorType: 'Runtime.InvalidConfig',
      errorMessage: problem,
    });
  });

  it('HTTP mode: one fatal log line with the problem, exit 2, nothing served', async () => {
    const http = spawnCaptured(
      runtimeCommand,
      cleanEnv({ LAMBDA_TASK_ROOT: dir, PORT: '0', JUSTFN_METRICS_PORT: '0' }),
    );
    expect(await http.exited).toBe(2);
    expect(http.stderr()).toBe('');
    const lines = http
      .stdout()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([
      expect.objectContaining({ level: 'fatal', problems: [problem], msg: `Init Error: ${problem}` }),
    ]);
  });
});

describe('a resource that no retry can open (a service not in its .proto)', () => {
  it('justfn check names the file it read, and the resource', async () => {
    const check = spawnCaptured(
      ['node', 'bin/justfn.cjs', 'check', fixture('broken/unknown-service')],
      cleanEnv(),
    );
    expect(await check.exited).toBe(1);
    expect(check.stderr()).toMatch(
      new RegExp(
        `^${path.relative(repoRoot, file('unknown-service'))}: resources\\.auth: service 'test\\.greeter\\.v1\\.Nope' is not in .*greeter\\.proto`,
      ),
    );
  });

  it('HTTP mode: a fatal line naming it, then the drain, exit 1; never live for nothing', async () => {
    const http = spawnCaptured(
      runtimeCommand,
      cleanEnv({ LAMBDA_TASK_ROOT: fixture('broken/unknown-service'), PORT: '0', JUSTFN_METRICS_PORT: '0' }),
    );
    cleanup.add(() => http.kill('SIGKILL'));
    expect(await http.exited).toBe(1);
    const lines = http
      .stdout()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const fatal = lines.find((l) => l.level === 'fatal');
    expect(fatal?.msg).toBe('a resource cannot be opened, and retrying will not help: exiting');
    expect(JSON.stringify(fatal)).toContain("service 'test.greeter.v1.Nope' is not in");
    expect(lines.at(-1)).toMatchObject({ reason: 'a resource failed for good', msg: 'drained: exiting' });
  });
});

describe('settings that cannot work together', () => {
  it('HTTP mode: PORT equal to the metrics port is one fatal line and exit 2, before anything listens', async () => {
    const http = spawnCaptured(
      runtimeCommand,
      cleanEnv({ LAMBDA_TASK_ROOT: fixture('broken/unknown-service'), PORT: '9464' }),
    );
    cleanup.add(() => http.kill('SIGKILL'));
    expect(await http.exited).toBe(2);
    const problem =
      'PORT and JUSTFN_METRICS_PORT (default) are both 9464: the metrics need a port of their own (JUSTFN_METRICS_PORT=0 turns them off)';
    expect(
      http
        .stdout()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual([
      expect.objectContaining({ level: 'fatal', problems: [problem], msg: `Init Error: ${problem}` }),
    ]);
  });
});

describe('settings that cannot work together, found by justfn check', () => {
  it('http.port in justfn.yaml on the metrics port: one line naming both, exit 1', async () => {
    const dir = tempDir('port-clash');
    writeFileSync(path.join(dir, 'index.mjs'), 'export const handler = async () => 1;\n');
    writeFileSync(path.join(dir, 'justfn.yaml'), 'name: clash\nhttp: { port: 9464 }\n');
    const check = spawnCaptured(['node', 'bin/justfn.cjs', 'check', dir], cleanEnv());
    expect(await check.exited).toBe(1);
    expect(check.stderr()).toBe(
      'http.port in justfn.yaml and JUSTFN_METRICS_PORT (default) are both 9464: the metrics need a port of their own (JUSTFN_METRICS_PORT=0 turns them off)\n',
    );
  });
});

describe('Lambda mode: variables', () => {
  it('a variable that does not parse: /init/error with Runtime.InvalidConfig naming it, exit 2', async () => {
    const { fake, runtime } = await startOnFakeApi(path.join(handlers, 'kinds'), {
      _HANDLER: 'index.echo',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: 'lots',
    });
    cleanup.add(async () => {
      await runtime.kill();
      await fake.close();
    });
    const posted = await fake.waitFor((r) => r.path === '/2018-06-01/runtime/init/error');
    expect(posted.headers['lambda-runtime-function-error-type']).toBe('Runtime.InvalidConfig');
    expect(posted.headers['content-type']).toBe('application/json');
    expect(posted.headers['user-agent']).toMatch(/^justfn\/\d+\.\d+\.\d+/);
    expect(JSON.parse(posted.body.toString())).toEqual({
      errorType: 'Runtime.InvalidConfig',
      errorMessage: 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE="lots": expected a whole number from 128 to 10240',
      trace: [],
    });
    expect(await runtime.exited).toBe(2);
  });

  it('a JUSTFN_MODE that does not parse, with a Runtime API: /init/error too', async () => {
    const { fake, runtime } = await startOnFakeApi(path.join(handlers, 'kinds'), {
      _HANDLER: 'index.echo',
      JUSTFN_MODE: 'lamda',
    });
    cleanup.add(async () => {
      await runtime.kill();
      await fake.close();
    });
    const posted = await fake.waitFor((r) => r.path === '/2018-06-01/runtime/init/error');
    expect(JSON.parse(posted.body.toString()).errorMessage).toBe(
      'JUSTFN_MODE="lamda": expected one of auto, lambda, http',
    );
  });

  it.each([
    ["LOG_LEVEL is the function's own (silent, warning)", { LOG_LEVEL: 'silent' }],
    [
      // The module reads the global awslambda at its top: still installed.
      "AWS's own variables with values AWS's runtime ignores",
      {
        AWS_LAMBDA_LOG_LEVEL: 'WARNING',
        AWS_LAMBDA_LOG_FORMAT: 'xml',
        AWS_LAMBDA_RUNTIME_VERBOSE: 'true',
        AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA: 'yes',
      },
    ],
  ])('%s: Lambda mode serves and prints every line in Text, as AWS', async (_name, env) => {
    const { fake, runtime } = await startOnFakeApi(path.join(handlers, 'kinds'), {
      _HANDLER: 'index.logs',
      ...env,
    });
    cleanup.add(async () => {
      await runtime.kill();
      await fake.close();
    });
    fake.push({ event: {} });
    await fake.waitFor((r) => r.path.endsWith('/response'));
    await runtime.waitForOutput('trace line');
    expect(textLines(runtime.stdout()).map((l) => l.level)).toEqual([
      'INFO',
      'INFO',
      'WARN',
      'ERROR',
      'DEBUG',
      'TRACE',
    ]);
  });
});
