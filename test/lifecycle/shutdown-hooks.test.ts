import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startTestEmulator } from '../helpers/emulator.js';
import type { Recorded } from '../helpers/fake-runtime-api.js';
import { startHttpRuntime } from '../helpers/http-runtime.js';
import { postgresForFile } from '../helpers/postgres.js';
import { handlers } from '../helpers/process.js';
import { createCleanup, databaseUrl, fixture, get, startOnFakeApi, textLines } from './harness.js';

// Lambda sends SIGTERM at shutdown only to a runtime with a registered extension (awsdocs
// runtimes-extensions-api, Shutdown phase); justfn registers an internal one for no events when there is
// something to close (resources, `onShutdown` hooks), and then closes it within Lambda's 500 ms.

const db = postgresForFile();
const cleanup = createCleanup();
afterEach(cleanup.run);

const isRegister = (r: Recorded) => r.method === 'POST' && r.path === '/2020-01-01/extension/register';
const isEventNext = (r: Recorded) => r.method === 'GET' && r.path === '/2020-01-01/extension/event/next';
const isResponse = (r: Recorded) => r.path.endsWith('/response');

async function start(taskRoot: string, env: Record<string, string> = {}) {
  const started = await startOnFakeApi(
    taskRoot,
    { DATABASE_URL: databaseUrl(db), ...env },
    {
      invocations: [{ event: {} }],
      answer: (r) =>
        isRegister(r)
          ? {
              status: 200,
              body: '{"functionName":"lifecycle","functionVersion":"$LATEST","handler":"index.handler"}',
              headers: { 'lambda-extension-identifier': 'ext-1' },
            }
          : isEventNext(r)
            ? new Promise(() => {}) // registered for no events: none ever comes
            : undefined,
    },
  );
  cleanup.add(started.close);
  return started;
}

describe('Lambda mode: SIGTERM at shutdown', () => {
  it('with a resource: registers an extension for no events; SIGTERM runs the hooks, closes the pool, exit 0', async () => {
    const { fake, runtime } = await start(fixture('shutdown'));
    await fake.waitFor(isResponse);
    const register = fake.requests.find(isRegister)!;
    expect(register.headers['lambda-extension-name']).toBe('justfn');
    expect(JSON.parse(register.body.toString())).toEqual({ events: [] });
    const eventNext = await fake.waitFor(isEventNext);
    expect(eventNext.headers['lambda-extension-identifier']).toBe('ext-1');
    expect(await db.connections('shutdown')).toBeGreaterThan(0);

    runtime.child.kill('SIGTERM');
    expect(await runtime.exited).toBe(0);
    await expect.poll(() => db.connections('shutdown')).toBe(0);
    expect(textLines(runtime.stdout()).map((l) => l.message)).toEqual(
      expect.arrayContaining([
        'SIGTERM: running the shutdown hooks, closing the resources',
        'shutdown-hook 2',
        'shutdown-hook 1: the pool still answers 1',
        'resource \'db\' closed {"resource":"db","kind":"postgres"}',
      ]),
    );
    // The runtime's and the hooks' lines after SIGTERM are no invocation's: not the last one's id.
    const lines = textLines(runtime.stdout());
    const sigterm = lines.findIndex((l) => l.message.startsWith('SIGTERM'));
    expect(lines.slice(sigterm).map((l) => l.requestId)).toEqual(lines.slice(sigterm).map(() => 'undefined'));
    const messages = lines.map((l) => l.message);
    expect(messages.indexOf('shutdown-hook 2')).toBeLessThan(
      messages.indexOf('shutdown-hook 1: the pool still answers 1'),
    );
  });

  it('a hook that throws is logged; the other hooks run and the pool closes', async () => {
    const { fake, runtime } = await start(fixture('shutdown'), { FAIL_SHUTDOWN_HOOK: '1' });
    await fake.waitFor(isResponse);
    runtime.child.kill('SIGTERM');
    expect(await runtime.exited).toBe(0);
    await expect.poll(() => db.connections('shutdown')).toBe(0);
    const lines = textLines(runtime.stdout());
    expect(lines.find((l) => l.message.startsWith('Shutdown Hook Error'))?.message).toContain(
      '"errorType":"RangeError","errorMessage":"the buffer cannot be flushed"',
    );
    expect(lines.map((l) => l.message)).toContain('shutdown-hook 1: the pool still answers 1');
  });

  it('SIGTERM during an invocation aborts its context.signal; a rejection in a hook is logged, exit 0', async () => {
    const { fake, runtime } = await startOnFakeApi(
      fixture('shutdown'),
      { DATABASE_URL: databaseUrl(db), REJECT_IN_HOOK: '1' },
      {
        invocations: [{ event: { waitForShutdown: true } }],
        answer: (r) => (isRegister(r) ? 404 : undefined),
      },
    );
    cleanup.add(() => runtime.kill());
    cleanup.add(() => fake.close());
    // SIGTERM once the handler listens for the abort.
    await runtime.waitForOutput('waiting for shutdown');
    runtime.child.kill('SIGTERM');
    expect(await runtime.exited).toBe(0);
    const messages = textLines(runtime.stdout()).map((l) => l.message);
    expect(messages).toContain('aborted: The environment is shutting down');
    expect(messages.some((m) => m.startsWith('Unhandled Promise Rejection'))).toBe(true);
  });

  it('SIGTERM during a query: it is cancelled on the server, not left running there after the exit', async () => {
    const { fake, runtime } = await startOnFakeApi(
      fixture('shutdown'),
      { DATABASE_URL: databaseUrl(db) },
      { invocations: [{ event: { sleepSeconds: 30 } }], answer: (r) => (isRegister(r) ? 404 : undefined) },
    );
    cleanup.add(() => runtime.kill());
    cleanup.add(() => fake.close());
    const sleeping = async () =>
      (
        await db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'shutdown' AND query LIKE 'SELECT pg_sleep%'",
        )
      )[0]!.n;
    await vi.waitFor(async () => expect(await sleeping()).toBe(1), { timeout: 5_000, interval: 50 });
    runtime.child.kill('SIGTERM');
    expect(await runtime.exited).toBe(0);
    await expect.poll(() => db.connections('shutdown')).toBe(0);
    expect(await sleeping()).toBe(0);
    expect(`${runtime.stdout()}${runtime.stderr()}`).not.toContain('Warning');
  });

  it('a Runtime API that takes the registration and never answers: init goes on after a second', async () => {
    const started = await startOnFakeApi(
      fixture('shutdown'),
      { DATABASE_URL: databaseUrl(db) },
      { invocations: [{ event: {} }], answer: (r) => (isRegister(r) ? new Promise(() => {}) : undefined) },
    );
    cleanup.add(started.close);
    await started.fake.waitFor(isResponse, 10_000);
    expect(textLines(started.runtime.stdout()).map((l) => l.message)).toContainEqual(
      'no SIGTERM at shutdown: POST /2020-01-01/extension/register: no answer within 1000 ms',
    );
  });

  it('JUSTFN_LAMBDA_SIGTERM=0: no extension, and SIGTERM ends the process as it does under AWS', async () => {
    const { fake, runtime } = await start(fixture('shutdown'), { JUSTFN_LAMBDA_SIGTERM: '0' });
    await fake.waitFor(isResponse);
    expect(fake.requests.some(isRegister)).toBe(false);
    runtime.child.kill('SIGTERM');
    expect(await runtime.exited).toBe('SIGTERM');
  });

  it('nothing to close (no resources, no hooks): no extension is registered', async () => {
    const { fake } = await start(path.join(handlers, 'kinds'), { _HANDLER: 'index.echo' });
    await fake.waitFor((r) => r.path.endsWith('/invocation/next'));
    await fake.waitFor((r) => isResponse(r) || r.path.endsWith('/error'));
    expect(fake.requests.some(isRegister)).toBe(false);
  });

  it('a Runtime API without the Extensions API: one warning, and the function serves', async () => {
    const { fake, runtime } = await startOnFakeApi(
      fixture('shutdown'),
      { DATABASE_URL: databaseUrl(db) },
      { invocations: [{ event: {} }], answer: (r) => (isRegister(r) ? 404 : undefined) },
    );
    cleanup.add(() => runtime.kill());
    cleanup.add(() => fake.close());
    await fake.waitFor(isResponse);
    expect(textLines(runtime.stdout()).map((l) => l.message)).toContainEqual(
      expect.stringMatching(
        /^no SIGTERM at shutdown: POST \/2020-01-01\/extension\/register: the Runtime API answered 404/,
      ),
    );
  });

  it('justfn emulate ends such a runtime as Lambda does: SIGTERM, then the hooks run and the pool closes', async () => {
    const local = await startTestEmulator('index.handler', {
      taskRoot: fixture('shutdown'),
      env: { DATABASE_URL: databaseUrl(db) },
    });
    cleanup.add(local.close);
    expect((await local.invoke('{}')).status).toBe(200);
    expect(await db.connections('shutdown')).toBeGreaterThan(0);
    await local.close();
    expect(local.output()).toMatch(/\tshutdown-hook 1: the pool still answers 1\n/);
    await expect.poll(() => db.connections('shutdown')).toBe(0);
  });
});

describe('HTTP mode: onShutdown hooks', () => {
  it('run after the drain, with the resources still open, before they close', async () => {
    const runtime = await startHttpRuntime('index.handler', {
      LAMBDA_TASK_ROOT: fixture('shutdown'),
      DATABASE_URL: databaseUrl(db),
    });
    cleanup.add(() => runtime.stop());
    await expect.poll(async () => (await get(`${runtime.url}/_/health/ready`)).status).toBe(200);
    expect((await get(`${runtime.url}/`)).status).toBe(200);
    runtime.process.child.kill('SIGTERM');
    expect(await runtime.process.exited).toBe(0);
    const messages = runtime.logs().map((l) => l.msg);
    const at = (msg: string) => messages.indexOf(msg);
    expect(at('shutdown-hook 2')).toBeGreaterThan(at('draining: finishing accepted requests'));
    expect(at('shutdown-hook 1: the pool still answers 1')).toBeGreaterThan(at('shutdown-hook 2'));
    expect(at("resource 'db' closed")).toBeGreaterThan(at('shutdown-hook 1: the pool still answers 1'));
    await expect.poll(() => db.connections('shutdown')).toBe(0);
  });
});
