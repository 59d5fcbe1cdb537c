import type { Socket } from 'node:net';
import type pg from 'pg';
import type { Pool as HttpPool } from 'undici';
import { describe, expect, it } from 'vitest';
import type { ResourceConfig } from '../../../runtime/config/service-config.js';
import { createResourceRegistry } from '../../../runtime/resources/registry.js';
import { ResourceError } from '../../../runtime/resources/resource-error.js';
import type { GrpcClient } from '../../../runtime/resources/resources-of.js';
import { freePort, postgresForFile } from '../../helpers/postgres.js';
import { captureLog, protosDir, startGreeter, startHttp } from './servers.js';

const db = postgresForFile();

let apps = 0;
function setup(pool = { min: 2, max: 5 }, url = db.url, timeout = 5) {
  const capture = captureLog();
  const app = `pg-test-${++apps}`;
  const declared: Record<string, ResourceConfig> = { db: { kind: 'postgres', url, pool, timeout } };
  const registry = createResourceRegistry<{ db: pg.Pool }>(declared, {
    baseDir: '.',
    log: capture.log,
    applicationName: app,
    secrets: new Set([db.url, db.password]),
  });
  return { registry, capture, app };
}

const pids = async (app: string) =>
  (
    await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [app])
  ).map((r) => r.pid);

describe('postgres resource', () => {
  it('opens pool.min real connections before open() resolves, and closes them', async () => {
    const { registry, app } = setup({ min: 3, max: 5 });
    await registry.open();
    expect(await db.connections(app)).toBe(3);
    expect((await registry.resources.db.query('SELECT 41 + 1 AS answer')).rows).toEqual([{ answer: 42 }]);
    await registry.close();
    await expect.poll(() => db.connections(app), { timeout: 10_000 }).toBe(0);
  });

  it('reports PostgreSQL down at open as a ResourceError naming db, without the password', async () => {
    const url = `postgres://postgres:${db.password}@127.0.0.1:${await freePort()}/postgres`;
    const { registry, capture } = setup({ min: 1, max: 2 }, url);
    const error = await registry.open().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ResourceError);
    expect((error as ResourceError).resource).toBe('db');
    expect((error as Error).message).toMatch(
      /^resource 'db' \(postgres, postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres\): cannot open: .*ECONNREFUSED/,
    );
    expect((error as Error).message).not.toContain(db.password);
    expect(capture.text()).not.toContain(db.password);
    expect(registry.health().resources.db).toMatchObject({ state: 'failed', healthy: false });
  });

  it('reports a wrong password without printing either password', async () => {
    const url = db.url.replace(db.password, 'not-the-password');
    const { registry, capture } = setup({ min: 1, max: 2 }, url);
    const error = (await registry.open().catch((e: unknown) => e)) as ResourceError;
    expect(error.message).toContain('password authentication failed');
    expect(error.message).not.toContain('not-the-password');
    expect(capture.text()).not.toContain('not-the-password');
  });

  it('replaces the connections a restart ended, so the next query succeeds', async () => {
    const { registry, app, capture } = setup();
    await registry.open();
    const before = await pids(app);
    await db.restart();
    // The server ended both idle connections; the pool logs each instead of crashing the process.
    await capture.waitFor((l) => l.level === 'warn' && /connection failed/.test(l.msg));
    expect(await registry.ensureFresh(0)).toBe(true);
    const after = await pids(app);
    expect(after).toHaveLength(2);
    expect(after.filter((pid) => before.includes(pid))).toEqual([]);
    expect((await registry.resources.db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await registry.close();
  });

  it("a health check (HTTP mode's readiness) opens pool.min again after the server ended them", async () => {
    const { registry, app, capture } = setup({ min: 3, max: 5 });
    await registry.open();
    expect(await db.terminate(app)).toBe(3);
    await expect.poll(() => registry.resources.db.totalCount).toBe(0);
    expect(capture.lines.filter((l) => /connection failed/.test(l.msg))).toHaveLength(3);
    expect((await registry.check()).resources.db).toMatchObject({ state: 'open', healthy: true });
    expect(await db.connections(app)).toBe(3);
    await registry.close();
  });

  it('after a freeze, drops connections the server ended while nothing read them, and reconnects min', async () => {
    const { registry, app } = setup({ min: 2, max: 5 }, db.url, 1);
    await registry.open();
    const pool = registry.resources.db;
    // A frozen process reads nothing: stop reading the idle connections, as the freeze would.
    const idle = await Promise.all([pool.connect(), pool.connect()]);
    for (const client of idle) socketOf(client).pause();
    for (const client of idle) client.release();
    const before = await pids(app);
    expect(await db.terminate(app)).toBe(2);
    await expect.poll(() => db.connections(app), { timeout: 10_000 }).toBe(0);

    expect(await registry.ensureFresh(0)).toBe(true);
    const after = await pids(app);
    expect(after).toHaveLength(2);
    expect(after.filter((pid) => before.includes(pid))).toEqual([]);
    expect((await pool.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    for (const client of idle) socketOf(client).destroy();
    await registry.close();
  });

  it('fails a query running while PostgreSQL stops with a clear error, and the next one succeeds', async () => {
    const { registry, app } = setup({ min: 1, max: 5 });
    await registry.open();
    const running = registry.resources.db.query('SELECT pg_sleep(60)').then(
      () => undefined,
      (e: pg.DatabaseError) => e,
    );
    await expect
      .poll(
        async () =>
          (
            await db.query(
              "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'",
              [app],
            )
          ).length,
        { timeout: 10_000 },
      )
      .toBe(1);
    await db.stop();
    const error = await running;
    expect(error?.message).toBe('terminating connection due to administrator command');
    expect(error?.code).toBe('57P01');
    await db.start();
    expect((await registry.resources.db.query('SELECT 3 AS three')).rows).toEqual([{ three: 3 }]);
    await registry.close();
  });

  it('opens postgres, grpc and http together and closes them in reverse declaration order', async () => {
    const [greeter, billing] = await Promise.all([startGreeter(), startHttp()]);
    const capture = captureLog();
    const registry = createResourceRegistry<{ db: pg.Pool; auth: GrpcClient; billing: HttpPool }>(
      {
        db: { kind: 'postgres', url: db.url, pool: { min: 1, max: 2 } },
        auth: {
          kind: 'grpc',
          target: greeter.target,
          proto: 'greeter.proto',
          service: 'test.greeter.v1.Greeter',
        },
        billing: { kind: 'http', origin: billing.origin, warm: '/ping' },
      },
      { baseDir: protosDir, log: capture.log, applicationName: 'pg-test-all', secrets: new Set([db.url]) },
    );
    await registry.open();
    expect(registry.health()).toMatchObject({
      ready: true,
      resources: {
        db: {
          kind: 'postgres',
          state: 'open',
          healthy: true,
          target: `postgres://postgres:***@127.0.0.1:${db.port}/postgres`,
        },
        auth: {
          kind: 'grpc',
          state: 'open',
          healthy: true,
          target: `test.greeter.v1.Greeter at ${greeter.target}`,
        },
        billing: { kind: 'http', state: 'open', healthy: true, target: billing.origin },
      },
    });
    expect(await db.connections('pg-test-all')).toBe(1);
    expect(billing.requests.map((r) => r.path)).toEqual(['/ping']);
    expect((await registry.check()).ready).toBe(true);
    await registry.close();
    const closed = capture.lines.filter((l) => l.msg.endsWith(' closed')).map((l) => l.obj.resource);
    expect(closed).toEqual(['billing', 'auth', 'db']);
    expect(capture.text()).not.toContain(db.password);
    await Promise.all([greeter.stop(), billing.close()]);
  });

  it('check() reports PostgreSQL down, then healthy again once it is back, logging each change once', async () => {
    const { registry, capture } = setup({ min: 1, max: 2 });
    await registry.open();
    await db.stop();
    expect((await registry.check()).ready).toBe(false);
    expect((await registry.check()).resources.db).toMatchObject({ state: 'open', healthy: false });
    expect(registry.health().resources.db?.error).toMatch(/^resource 'db' \(postgres, .*\): check failed: /);
    await db.start();
    expect((await registry.check()).ready).toBe(true);
    const changes = capture.lines.filter((l) => /check failed|healthy again/.test(l.msg)).map((l) => l.level);
    expect(changes).toEqual(['warn', 'info']);
    expect(capture.text()).not.toContain(db.password);
    await registry.close();
  });

  it('check() does not wait for a connection when every one is busy', async () => {
    const { registry } = setup({ min: 1, max: 1 });
    await registry.open();
    const busy = await registry.resources.db.connect();
    expect((await registry.check()).ready).toBe(true);
    busy.release();
    await registry.close();
  });

  it('closes twice without error', async () => {
    const { registry, app } = setup({ min: 1, max: 2 });
    await registry.open();
    await Promise.all([registry.close(), registry.close()]);
    await registry.close();
    await expect.poll(() => db.connections(app), { timeout: 10_000 }).toBe(0);
    expect(registry.health().resources.db?.state).toBe('closed');
  });
});

function socketOf(client: pg.PoolClient): Socket {
  return (client as unknown as { connection: { stream: Socket } }).connection.stream;
}
