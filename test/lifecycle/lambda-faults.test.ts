import { afterEach, describe, expect, it } from 'vitest';
import { startTestEmulator } from '../helpers/emulator.js';
import { freePort, postgresForFile } from '../helpers/postgres.js';
import { startGreeter } from '../runtime/resources/servers.js';
import { createCleanup, databaseUrl, fixture, running, startOnFakeApi, textLines } from './harness.js';
import { startTcpProxy } from './tcp-proxy.js';

// Lambda mode, through real processes: the emulator (or the fake Runtime API, to read the wire), the
// real bootstrap, a real PostgreSQL and a real gRPC server, each broken the way production breaks them.

const db = postgresForFile();
const cleanup = createCleanup();
afterEach(cleanup.run);

const taskRoot = fixture('resources');

async function greeter(port = 0) {
  const server = await startGreeter(port);
  cleanup.add(() => server.kill());
  return server;
}

/** The emulator running the `resources` fixture; a hang shows up as a failed invoke after 10 s. */
async function emulate(env: Record<string, string>) {
  const emulator = await startTestEmulator('index.handler', { taskRoot, timeout: 10, env });
  cleanup.add(() => emulator.close());
  const invoke = async (action: string) => {
    const reply = await emulator.invoke(JSON.stringify({ action }));
    const body = JSON.parse(reply.text) as Record<string, unknown>;
    return { failed: reply.headers['x-amz-function-error'] === 'Unhandled', body };
  };
  return { ...emulator, invoke, pid: () => emulator.emulator.runtimePid() };
}

describe('Lambda mode: a resource that cannot open fails init', () => {
  it('PostgreSQL down at start: /init/error with Runtime.ResourceUnavailable naming db, exit 129', async () => {
    const auth = await greeter();
    const closedPort = await freePort();
    const { fake, runtime, close } = await startOnFakeApi(taskRoot, {
      DATABASE_URL: databaseUrl(db, closedPort),
      AUTH_TARGET: auth.target,
      AWS_LAMBDA_LOG_FORMAT: 'JSON',
    });
    cleanup.add(close);
    const posted = await fake.waitFor((r) => r.path === '/2018-06-01/runtime/init/error');
    expect(posted.headers['lambda-runtime-function-error-type']).toBe('Runtime.ResourceUnavailable');
    const payload = JSON.parse(posted.body.toString()) as { errorType: string; errorMessage: string };
    expect(payload.errorType).toBe('Runtime.ResourceUnavailable');
    expect(payload.errorMessage).toBe(
      `resource 'db' (postgres, postgres://postgres:***@127.0.0.1:${closedPort}/postgres): cannot open: connect ECONNREFUSED 127.0.0.1:${closedPort}`,
    );
    expect(await runtime.exited).toBe(129);
    expect(fake.requests.some((r) => r.path.endsWith('/invocation/next'))).toBe(false);
    // The log says it once more, as one structured record: Lambda's JSON format names an error by its
    // constructor, the payload by its `name`.
    const records = runtime
      .stdout()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { level: string; message: unknown });
    expect(records.at(-1)).toMatchObject({
      level: 'ERROR',
      message: {
        errorType: 'ResourceError',
        errorMessage: payload.errorMessage,
        stackTrace: expect.arrayContaining([`Runtime.ResourceUnavailable: ${payload.errorMessage}`]),
      },
    });
  });

  it('the gRPC service down at start: the invoke answers the init error naming auth', async () => {
    const { invoke } = await emulate({
      DATABASE_URL: databaseUrl(db),
      AUTH_TARGET: `127.0.0.1:${await freePort()}`,
    });
    const { failed, body } = await invoke('db');
    expect(failed).toBe(true);
    expect(body.errorType).toBe('Runtime.ResourceUnavailable');
    expect(body.errorMessage).toMatch(
      /^resource 'auth' \(grpc, test\.greeter\.v1\.Greeter at \[redacted\]\): cannot open: channel not READY within 1000 ms \(state TRANSIENT_FAILURE: No connection established\. Last error: Error: connect ECONNREFUSED \[redacted\]\)$/,
    );
  });
});

describe('Lambda mode: faults between and during invocations', () => {
  it('PostgreSQL restarted between invocations: the next invocation succeeds on a new connection', async () => {
    const auth = await greeter();
    const lambda = await emulate({ DATABASE_URL: databaseUrl(db), AUTH_TARGET: auth.target });
    const before = await lambda.invoke('db');
    expect(before).toMatchObject({ failed: false, body: { one: 1 } });
    await db.restart();
    const after = await lambda.invoke('db');
    expect(after).toMatchObject({ failed: false, body: { one: 1 } });
    expect(after.body.pid).not.toBe(before.body.pid);
    await lambda.waitForOutput(/a PostgreSQL connection failed; the pool drops it/);
  });

  it('PostgreSQL killed during a query: that invocation fails with a clear error, the next succeeds', async () => {
    const auth = await greeter();
    const lambda = await emulate({ DATABASE_URL: databaseUrl(db), AUTH_TARGET: auth.target });
    const pid = lambda.pid();
    const sleeping = lambda.invoke('sleep');
    await expect.poll(() => running(db, 'lifecycle', 'SELECT pg_sleep'), { timeout: 5_000 }).toBe(1);
    await db.kill();
    expect(await sleeping).toMatchObject({
      failed: true,
      body: { errorType: 'Error', errorMessage: 'Connection terminated unexpectedly' },
    });
    await db.start();
    expect(await lambda.invoke('db')).toMatchObject({ failed: false, body: { one: 1 } });
    expect(lambda.pid()).toBe(pid);
  });

  it("metadata from the function's own @grpc/grpc-js goes out with the call", async () => {
    // justfn's client is its own copy of grpc-js, which tells a call's arguments apart with instanceof.
    const auth = await greeter();
    const lambda = await emulate({ DATABASE_URL: databaseUrl(db), AUTH_TARGET: auth.target });
    expect(await lambda.invoke('authWithMetadata')).toEqual({
      failed: false,
      body: { message: 'hello lifecycle, from the function' },
    });
  });

  it('the gRPC service down, then up: calls fail with UNAVAILABLE, then succeed, same process', async () => {
    const auth = await greeter();
    const lambda = await emulate({ DATABASE_URL: databaseUrl(db), AUTH_TARGET: auth.target });
    const pid = lambda.pid();
    expect(await lambda.invoke('auth')).toEqual({ failed: false, body: { message: 'hello lifecycle' } });
    auth.kill();
    const down = await lambda.invoke('auth');
    expect(down.failed).toBe(true);
    expect(down.body.errorMessage).toMatch(/^14 UNAVAILABLE: /);
    await greeter(auth.port);
    // grpc-js reconnects after its backoff: the channel comes back by itself, the process stays.
    await expect
      .poll(async () => (await lambda.invoke('auth')).body, { timeout: 10_000, interval: 200 })
      .toEqual({ message: 'hello lifecycle' });
    expect(lambda.pid()).toBe(pid);
  });

  it('idle past the threshold with the gRPC service down: the re-validation gives up at the refused connection', async () => {
    const auth = await greeter();
    const lambda = await emulate({
      DATABASE_URL: databaseUrl(db),
      AUTH_TARGET: auth.target,
      JUSTFN_REVALIDATE_AFTER: '1',
    });
    expect((await lambda.invoke('auth')).failed).toBe(false);
    auth.kill();
    // Idle past JUSTFN_REVALIDATE_AFTER: wall-clock time that must pass.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    // An invocation that does not use the service: served, after a refresh that did not wait for it.
    expect(await lambda.invoke('db')).toMatchObject({ failed: false, body: { one: 1 } });
    // The runtime's lines come through its stdout, and can trail the answer it posted.
    await lambda.waitForOutput(/channel failed to connect/);
    const refresh = textLines(lambda.output()).find(
      (l) => l.level === 'WARN' && l.message.includes("'auth'"),
    );
    expect(refresh?.message).toMatch(/channel failed to connect \(state TRANSIENT_FAILURE: .*ECONNREFUSED/);
    expect(refresh?.message).not.toMatch(/within \d+ ms/);
  });

  it('frozen past the idle threshold while the connections die: the thawed invocation succeeds', async () => {
    const auth = await greeter();
    const [pgProxy, grpcProxy] = await Promise.all([startTcpProxy(db.port), startTcpProxy(auth.port)]);
    cleanup.add(() => Promise.all([pgProxy.close(), grpcProxy.close()]));
    const lambda = await emulate({
      DATABASE_URL: databaseUrl(db, pgProxy.port),
      AUTH_TARGET: `127.0.0.1:${grpcProxy.port}`,
      JUSTFN_REVALIDATE_AFTER: '1',
    });
    const before = await lambda.invoke('db');
    expect((await lambda.invoke('auth')).failed).toBe(false);
    const pid = lambda.pid()!;

    process.kill(pid, 'SIGSTOP');
    cleanup.add(() => process.kill(pid, 'SIGCONT'));
    pgProxy.blackhole();
    grpcProxy.blackhole();
    await expect.poll(() => db.connections('lifecycle')).toBe(0);
    // Past JUSTFN_REVALIDATE_AFTER on the wall clock, while no timer of the frozen process runs.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    process.kill(pid, 'SIGCONT');

    // Without the re-validation the first query would wait forever on a connection nobody answers.
    const after = await lambda.invoke('db');
    expect(after).toMatchObject({ failed: false, body: { one: 1 } });
    expect(after.body.pid).not.toBe(before.body.pid);
    expect(await lambda.invoke('auth')).toEqual({ failed: false, body: { message: 'hello lifecycle' } });
    await lambda.waitForOutput(/re-validating before the next invocation/);
    const revalidated = textLines(lambda.output()).filter((l) => l.message.includes('re-validating'));
    expect(revalidated).toHaveLength(1);
    expect(revalidated[0]?.message).toMatch(
      /^resources idle for \d+ ms: re-validating before the next invocation/,
    );
    expect([pgProxy.accepted(), grpcProxy.accepted()]).toEqual([2, 2]);
  });
});
