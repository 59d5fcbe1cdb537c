import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator } from '../helpers/emulator.js';
import { startHttpRuntime } from '../helpers/http-runtime.js';
import { freePort, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { cleanEnv, spawnCaptured } from '../helpers/process.js';
import { createCleanup, databaseUrl, fixture, get, startOnFakeApi } from './harness.js';

// Values from `${VAR}` and `${file:...}` never appear in what justfn prints or posts: logs in both
// modes and formats, init errors on the wire, readiness, metrics, `justfn check`, configuration errors.
// Each scenario collects everything a user could see and looks for every form of every secret.

const REPORTER_PASSWORD = 'R3port/s3cret@x'; // written percent-encoded in the URL, read decoded by pg
const BAD_POOL_MAX = 'lots-Qz7vX'; // a variable's value that the schema refuses

let db: TestPostgres;
let dir: string;
let secrets: string[];
beforeAll(async () => {
  db = await startPostgres();
  await db.query(`CREATE ROLE reporter LOGIN PASSWORD '${REPORTER_PASSWORD}'`);
  dir = await mkdtemp(path.join(tmpdir(), 'justfn-secrets-'));
  await cp(fixture('secrets'), dir, { recursive: true });
  const reportsUrl = `postgres://reporter:${encodeURIComponent(REPORTER_PASSWORD)}@127.0.0.1:${db.port}/postgres`;
  await writeFile(path.join(dir, 'reports-url'), `${reportsUrl}\n`);
  secrets = [
    databaseUrl(db),
    db.password,
    reportsUrl,
    encodeURIComponent(REPORTER_PASSWORD),
    REPORTER_PASSWORD,
    BAD_POOL_MAX,
  ];
});
// Optional: when beforeAll failed, its error is the one to read, not a TypeError from here.
afterAll(async () => {
  await db?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});
const cleanup = createCleanup();
afterEach(cleanup.run);

function expectNoSecrets(seen: string): void {
  expect(seen.length).toBeGreaterThan(0);
  for (const secret of secrets) {
    expect(seen).not.toContain(secret);
    // As it would read inside a JSON line.
    expect(seen).not.toContain(JSON.stringify(secret).slice(1, -1));
  }
}

const env = (extra: Record<string, string> = {}) => ({ DATABASE_URL: databaseUrl(db), ...extra });

describe('secrets: Lambda mode', () => {
  it('a whole init, invocation and shutdown at TRACE level in the Text format', async () => {
    const emulator = await startTestEmulator('index.handler', {
      taskRoot: dir,
      env: env({ AWS_LAMBDA_LOG_LEVEL: 'TRACE' }),
    });
    cleanup.add(emulator.close);
    const reply = await emulator.invoke('{}');
    expect(JSON.parse(reply.text)).toEqual({ db: 'postgres', reports: 'reporter' });
    await emulator.waitForOutput(/resources open/);
    expectNoSecrets(emulator.output() + reply.text);
    // A resource's line: its message, then its fields as JSON, the URL's password masked.
    const open = emulator
      .output()
      .split('\n')
      .find((line) => line.includes("\tINFO\tresource 'db' open {"));
    expect(JSON.parse(open?.slice(open.indexOf('{')) ?? 'null')).toEqual({
      resource: 'db',
      kind: 'postgres',
      target: expect.stringMatching(/^postgres:\/\/\w+:\*\*\*@127\.0\.0\.1:\d+\/\w+$/),
      ms: expect.any(Number),
    });
  });

  it('a refused password: /init/error and the JSON log name the user, not the password', async () => {
    await db.query("ALTER ROLE reporter PASSWORD 'something-else'");
    cleanup.add(() => db.query(`ALTER ROLE reporter PASSWORD '${REPORTER_PASSWORD}'`));
    const { fake, runtime, close } = await startOnFakeApi(dir, env({ AWS_LAMBDA_LOG_FORMAT: 'JSON' }));
    cleanup.add(close);
    const posted = await fake.waitFor((r) => r.path.endsWith('/init/error'));
    const { errorMessage } = JSON.parse(posted.body.toString()) as { errorMessage: string };
    expect(errorMessage).toMatch(
      /^resource 'reports' \(postgres, postgres:\/\/reporter:\*\*\*@127\.0\.0\.1:\d+\/postgres\): cannot open: password authentication failed for user "reporter"$/,
    );
    await runtime.exited;
    expectNoSecrets(posted.body.toString() + runtime.stdout() + runtime.stderr());
  });
});

describe('secrets: HTTP mode', () => {
  it('retries while PostgreSQL is down, readiness, metrics, then requests: nothing shows a secret', async () => {
    await db.stop();
    cleanup.add(() => db.start());
    const metricsPort = await freePort();
    const runtime = await startHttpRuntime('index.handler', {
      LAMBDA_TASK_ROOT: dir,
      JUSTFN_METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'trace',
      ...env(),
    });
    cleanup.add(runtime.stop);
    await runtime.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('retrying in'));
    const notReady = await get(`${runtime.url}/_/health/ready`);
    expect(notReady.status).toBe(503);
    const down = await get(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(down.body).toContain('justfn_resource_up{resource="db",kind="postgres"} 0');

    await db.start();
    await expect.poll(async () => (await get(`${runtime.url}/_/health/ready`)).status).toBe(200);
    const answer = await get(`${runtime.url}/`);
    expect(JSON.parse(answer.body)).toEqual({ db: 'postgres', reports: 'reporter' });
    const up = await get(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(up.body).toContain('justfn_resource_up{resource="reports",kind="postgres"} 1');
    expectNoSecrets(
      [notReady.body, down.body, up.body, runtime.process.stdout(), runtime.process.stderr()].join('\n'),
    );
  });
});

describe("secrets: a client's error that names a secret address", () => {
  // An `http` resource whose origin comes from a variable, and a handler that fails as a client does when
  // that server is gone: its message and fields name the address (`connect ECONNREFUSED host:port`).
  let leaky: string;
  let origin: import('node:http').Server;
  let address: string;
  beforeAll(async () => {
    origin = (await import('node:http')).createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(origin.address() as import('node:net').AddressInfo).port}`;
    leaky = await mkdtemp(path.join(tmpdir(), 'justfn-secrets-leaky-'));
    await writeFile(
      path.join(leaky, 'justfn.yaml'),
      // biome-ignore lint/suspicious/noTemplateCurlyInString: justfn.yaml variables, as users write them
      'name: ${SERVICE_NAME}\nresources:\n  api: { kind: http, origin: "${API_ORIGIN}" }\n',
    );
    await writeFile(
      path.join(leaky, 'index.mjs'),
      [
        'export const handler = async () => {',
        '  const host = new URL(process.env.API_ORIGIN).host;',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the handler's own template string
        '  const error = new Error(`leaky: connect ECONNREFUSED ${host}`);',
        "  throw Object.assign(error, { code: 'ECONNREFUSED', address: host, at: new Date(0) });",
        '};',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    origin.close();
    await rm(leaky, { recursive: true, force: true });
  });

  it('Lambda mode: neither the Invoke Error line nor the error payload names it', async () => {
    const emulator = await startTestEmulator('index.handler', {
      taskRoot: leaky,
      env: { API_ORIGIN: `http://${address}`, SERVICE_NAME: 'leaky' },
    });
    cleanup.add(emulator.close);
    const reply = await emulator.invoke('{}');
    // `name` says what runs: printed as it resolves, though it came from a variable.
    expect(JSON.parse(reply.text)).toMatchObject({
      errorType: 'Error',
      errorMessage: 'leaky: connect ECONNREFUSED [redacted]',
    });
    await emulator.waitForOutput(/Invoke Error/);
    expect(emulator.output() + reply.text).not.toContain(address);
  });

  /** The function in HTTP mode, its origin the live server's address. */
  const serveLeaky = (env: Record<string, string>) =>
    startHttpRuntime('index.handler', {
      LAMBDA_TASK_ROOT: leaky,
      API_ORIGIN: `http://${address}`,
      SERVICE_NAME: 'leaky',
      ...env,
    });

  it('HTTP mode: neither the log line nor the exposed error names it; its other fields stay as they were', async () => {
    const runtime = await serveLeaky({ JUSTFN_EXPOSE_ERRORS: '1' });
    cleanup.add(runtime.stop);
    const answer = await get(`${runtime.url}/`);
    expect(answer.status).toBe(500);
    const line = await runtime.waitForLog((l) => l.msg === 'Invoke Error');
    expect(line).toMatchObject({ service: 'leaky', errorMessage: 'leaky: connect ECONNREFUSED [redacted]' });
    expect(line.err).toMatchObject({
      address: '[redacted]',
      code: 'ECONNREFUSED',
      at: '1970-01-01T00:00:00.000Z',
    });
    expect(answer.body + runtime.process.stdout() + runtime.process.stderr()).not.toContain(address);
  });

  it("HTTP mode in Lambda's Text format: the runtime's error line does not name it either", async () => {
    const runtime = await serveLeaky({ JUSTFN_LOG_FORMAT: 'Text' });
    cleanup.add(runtime.stop);
    expect((await get(`${runtime.url}/`)).status).toBe(500);
    const { stdout, stderr } = runtime.process;
    await expect.poll(stdout, { timeout: 5_000 }).toContain('Invoke Error');
    expect(stdout()).toContain('leaky: connect ECONNREFUSED [redacted]');
    expect(stdout() + stderr()).not.toContain(address);
  });
});

describe('secrets: configuration errors and justfn check', () => {
  const check = async (extra: Record<string, string> = {}) => {
    const run = spawnCaptured(['node', 'bin/justfn.cjs', 'check', dir], cleanEnv(env(extra)));
    return { code: await run.exited, out: run.stdout(), err: run.stderr() };
  };

  it('justfn check of a valid file prints the resources, not their values', async () => {
    const { code, out, err } = await check();
    expect([code, err]).toEqual([0, '']);
    expect(out).toMatch(/: ok — handler index\.handler, resources db \(postgres\), reports \(postgres\)\n$/);
    expectNoSecrets(out);
  });

  it('justfn check of a handler that fails at import naming a secret: the problem says where, the secret masked', async () => {
    const { code, out, err } = await check({ FAIL_AT_IMPORT: '1' });
    expect([code, out]).toEqual([1, '']);
    expect(err).toBe('handler index.handler: Error: cannot reach [redacted]\n');
    expectNoSecrets(err);
  });

  it('a variable the schema refuses: check, Lambda start and HTTP start say where, never the value', async () => {
    const problem = `${path.join(dir, 'justfn.yaml')}: resources.db.pool.max: expected an integer, got a value from a substitution`;
    const checked = await check({ DB_POOL_MAX: BAD_POOL_MAX });
    expect([checked.code, checked.err]).toEqual([1, `${problem}\n`]);

    const lambda = await startOnFakeApi(dir, env({ DB_POOL_MAX: BAD_POOL_MAX }));
    cleanup.add(lambda.close);
    const posted = await lambda.fake.waitFor((r) => r.path.endsWith('/init/error'));
    expect(JSON.parse(posted.body.toString())).toMatchObject({
      errorType: 'Runtime.InvalidConfig',
      errorMessage: problem,
    });
    expect(await lambda.runtime.exited).toBe(129);

    const http = spawnCaptured(
      ['node', 'bin/justfn.cjs', 'start', dir],
      cleanEnv(env({ DB_POOL_MAX: BAD_POOL_MAX, PORT: '0', JUSTFN_METRICS_PORT: '0' })),
    );
    expect(await http.exited).toBe(2);
    expectNoSecrets(
      [checked.err, posted.body.toString(), lambda.runtime.stdout(), http.stdout(), http.stderr()].join('\n'),
    );
  });
});
