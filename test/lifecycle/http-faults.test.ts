import pg from 'pg';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpRuntime } from '../helpers/http-runtime.js';
import { postgresForFile } from '../helpers/postgres.js';
import { startGreeter } from '../runtime/resources/servers.js';
import { createCleanup, databaseUrl, fixture, get, running } from './harness.js';

// HTTP mode (Knative, containers), through the real bootstrap: readiness follows the resources, a
// resource that fails is retried and logged, faults cost only the requests they hit, SIGTERM drains
// before the resources close.

const db = postgresForFile();
const cleanup = createCleanup();
afterEach(cleanup.run);

async function serve(authTarget?: string, env: Record<string, string> = {}) {
  const auth = authTarget ? undefined : await startGreeter();
  if (auth) cleanup.add(() => auth.kill());
  const runtime = await startHttpRuntime('index.handler', {
    LAMBDA_TASK_ROOT: fixture('resources'),
    DATABASE_URL: databaseUrl(db),
    AUTH_TARGET: authTarget ?? auth!.target,
    ...env,
  });
  cleanup.add(() => runtime.stop());
  const readiness = () => get(`${runtime.url}/_/health/ready`);
  const becomes = (status: number, timeout = 10_000) =>
    expect.poll(async () => (await readiness()).status, { timeout, interval: 50 }).toBe(status);
  // The gRPC resource opens alongside: readiness names only db once it has.
  const authOpen = () => runtime.waitForLog((l) => l.msg === "resource 'auth' open");
  return { runtime, readiness, becomes, authOpen, call: (path: string) => get(`${runtime.url}${path}`) };
}

describe('HTTP mode: readiness follows the resources', () => {
  it('with JUSTFN_EXPOSE_ERRORS=1, readiness says what the resource answered, as the log does', async () => {
    await db.stop();
    cleanup.add(() => db.start());
    const { runtime, readiness, authOpen } = await serve(undefined, { JUSTFN_EXPOSE_ERRORS: '1' });
    await runtime.waitForLog((l) => l.resource === 'db' && l.level === 'warn');
    await authOpen();
    expect(JSON.parse((await readiness()).body).reasons).toEqual([
      expect.stringMatching(/^resource db: (retrying|opening) \(.*ECONNREFUSED 127\.0\.0\.1:\d+.*\)$/),
    ]);
  });

  it('PostgreSQL down at start: not ready, retried with backoff and logged; ready once it is up', async () => {
    await db.stop();
    cleanup.add(() => db.start());
    const { runtime, readiness, becomes, call, authOpen } = await serve();
    const retry = await runtime.waitForLog((l) => l.resource === 'db' && l.level === 'warn');
    await authOpen();
    expect(retry.msg).toMatch(
      /^resource 'db' \(postgres, postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres\): cannot open: connect ECONNREFUSED 127\.0\.0\.1:\d+; retrying in \d+ ms$/,
    );
    expect(retry).toMatchObject({ kind: 'postgres', attempt: 1 });
    const notReady = await readiness();
    expect(notReady.status).toBe(503);
    expect(JSON.parse(notReady.body).reasons).toEqual([
      expect.stringMatching(/^resource db: (retrying|opening)$/),
    ]);
    // The handler reached for a resource that is not open: the instance cannot serve yet, a retriable 503.
    expect((await call('/db')).status).toBe(503);

    await db.start();
    await becomes(200);
    expect(JSON.parse((await call('/db')).body)).toMatchObject({ one: 1 });
    expect(runtime.process.child.exitCode).toBeNull();
    expect(runtime.logs().filter((l) => l.msg === "resource 'db' open")).toHaveLength(1);
  });

  it('the gRPC service down, then up: readiness goes 503 naming auth, then 200, same process', async () => {
    const auth = await startGreeter();
    cleanup.add(() => auth.kill());
    const { runtime, readiness, becomes, call } = await serve(auth.target);
    await becomes(200);
    auth.kill();
    expect((await call('/auth')).status).toBe(500);
    await becomes(503);
    // On the public port: which resource and why, never where it lives (that is in the log).
    expect(JSON.parse((await readiness()).body).reasons).toEqual(['resource auth: failing its health check']);
    const back = await startGreeter(auth.port);
    cleanup.add(() => back.kill());
    await becomes(200, 20_000);
    expect(JSON.parse((await call('/auth')).body)).toEqual({ message: 'hello lifecycle' });
    expect(runtime.process.child.exitCode).toBeNull();
    expect(runtime.logs().some((l) => l.msg === "resource 'auth' is healthy again")).toBe(true);
  });
});

describe('HTTP mode: faults cost only the requests they hit', () => {
  it('PostgreSQL restarted between requests: the next request succeeds', async () => {
    const { call, becomes } = await serve();
    await becomes(200);
    const before = JSON.parse((await call('/db')).body);
    await db.restart();
    const after = await call('/db');
    expect(after.status).toBe(200);
    expect(JSON.parse(after.body).pid).not.toBe(before.pid);
  });

  it('PostgreSQL killed during a request: that request fails and is logged, the next succeeds', async () => {
    const { runtime, call, becomes } = await serve();
    await becomes(200);
    const sleeping = call('/sleep');
    await expect.poll(() => running(db, 'lifecycle', 'SELECT pg_sleep'), { timeout: 5_000 }).toBe(1);
    await db.kill();
    expect(await sleeping).toEqual({ status: 500, body: '{"message":"Internal Server Error"}' });
    const logged = await runtime.waitForLog((l) => l.msg === 'Invoke Error');
    expect(logged.err).toMatchObject({ message: 'Connection terminated unexpectedly' });
    await db.start();
    expect(JSON.parse((await call('/db')).body)).toMatchObject({ one: 1 });
  });
});

// Settled from a resource's connection, which init opened. In the image (Node 22 with
// --experimental-async-context-frame, bootstrap/node-flags) Node reports a rejection nothing handles in the
// async context it was rejected in, no longer the one its promise was made in: a resource client that
// settled it from its connection's own callbacks would leave it to no invocation (answered 200, its line
// without a request id). pg and grpc-js settle it in continuations of the call, which carry its context.
describe("HTTP mode: a rejection nothing handles, settled by a resource's connection", () => {
  it.each([
    ['lostQuery', 'error: column "no_such_column" does not exist'],
    ['lostCall', 'Error: rejected on the reply'],
  ])('%s fails the invocation that made it, and its lines carry its request id', async (action, message) => {
    const { runtime, becomes, authOpen } = await serve(undefined, { JUSTFN_EXPOSE_ERRORS: '1' });
    await becomes(200);
    await authOpen();
    const reply = await request(`${runtime.url}/${action}`);
    const id = reply.headers['x-request-id'];
    expect([reply.statusCode, JSON.parse(await reply.body.text())]).toEqual([
      500,
      expect.objectContaining({ errorType: 'Runtime.UnhandledPromiseRejection', errorMessage: message }),
    ]);
    const logged = await runtime.waitForLog((l) => l.msg === 'Unhandled Promise Rejection');
    expect(logged.requestId).toBe(id);
    if (action === 'lostCall') {
      const said = await runtime.waitForLog((l) => l.msg === 'the reply came');
      expect(said.requestId).toBe(id);
    }
  });
});

describe('HTTP mode: SIGTERM', () => {
  it('in-flight work finishes on open resources, then they close in reverse order, exit 0', async () => {
    const { runtime, becomes } = await serve();
    await becomes(200);
    const gate = new pg.Client({ connectionString: db.url, application_name: 'test-gate' });
    await gate.connect();
    cleanup.add(() => gate.end());
    await gate.query('SELECT pg_advisory_lock(42)');

    const inFlight = request(`${runtime.url}/gate`).then(async (r) => ({
      status: r.statusCode,
      body: await r.body.text(),
    }));
    await expect.poll(() => running(db, 'lifecycle', 'SELECT pg_advisory_xact_lock')).toBe(1);
    runtime.process.child.kill('SIGTERM');
    await runtime.waitForLog((l) => l.msg === 'draining: finishing accepted requests');
    await gate.query('SELECT pg_advisory_unlock(42)');

    expect(await inFlight).toEqual({ status: 200, body: '{"said":"after the gate"}' });
    expect(await runtime.process.exited).toBe(0);
    const order = runtime
      .logs()
      .map((l) => String(l.msg))
      .filter((m) => /^(gate passed|resource '\w+' closed|drained: exiting)$/.test(m));
    expect(order).toEqual([
      'gate passed',
      "resource 'auth' closed",
      "resource 'db' closed",
      'drained: exiting',
    ]);
    await expect.poll(() => db.connections('lifecycle')).toBe(0);
  });
});
