import pg from 'pg';
import { redactUrl, secretForms } from '../config/redact.js';
import type { PostgresResourceConfig } from '../config/service-config.js';
import type { Resource, ResourceContext } from './resource.js';
import { describeCause } from './resource-error.js';

/**
 * `kind: postgres`: a `pg.Pool` that keeps `pool.min` connections open.
 *
 * - `open` really connects `min` clients (at least one) and runs `SELECT 1` on each: pg's pool is lazy and
 *   `min` alone "will not automatically create and connect new clients" (node-postgres.com/apis/pool).
 * - `connectionTimeoutMillis` is the resource timeout: pg's default is no timeout at all, which can hang
 *   init until the platform kills it.
 * - An `error` event on an idle or checked-out client is logged, never thrown: the pool drops the client,
 *   and an unhandled `error` event would end the process.
 * - `refresh` (after a freeze) runs `SELECT 1` on every idle client with a short read timeout, drops those
 *   that fail, and reconnects up to `min`.
 *
 * @example
 * const db = createPostgresResource({ kind: 'postgres', url, pool: { min: 2, max: 10 } }, context);
 * await db.open(signal);
 * const { rows } = await db.client.query('select 1 as one');
 */
export function createPostgresResource(
  config: PostgresResourceConfig,
  context: ResourceContext,
): Resource<pg.Pool> {
  const { name, log, timeoutMs } = context;
  const pool = new pg.Pool({
    connectionString: config.url,
    min: config.pool.min,
    max: config.pool.max,
    connectionTimeoutMillis: timeoutMs,
    // TCP keepalive lets the kernel notice a peer that vanished (in containers; frozen processes cannot).
    keepAlive: true,
    application_name: context.applicationName,
  });
  const secrets = secretForms(config.url);
  const onError = (error: Error) =>
    log.warn(
      { resource: name, kind: 'postgres', err: describeCause(error, secrets) },
      `resource '${name}': a PostgreSQL connection failed; the pool drops it`,
    );
  // Every client gets a listener for its whole life, idle or checked out; the pool re-emits an idle
  // client's error, which must be listened to as well or it would end the process, and is logged already.
  pool.on('connect', (client) => client.on('error', onError));
  pool.on('error', () => {});
  // Clients handlers hold (checked out), so that close can cancel what they still run.
  const checkedOut = new Set<pg.PoolClient>();
  pool.on('acquire', (client) => checkedOut.add(client));
  pool.on('release', (_error, client) => checkedOut.delete(client));
  pool.on('remove', (client) => checkedOut.delete(client as pg.PoolClient));
  let closing: Promise<void> | undefined;

  const topUp = async () => {
    const missing = Math.max(config.pool.min, 1) - pool.totalCount;
    // Idle clients are checked out first: as many more as are missing make new connections.
    if (missing > 0) await warm(pool, pool.idleCount + missing);
  };

  return {
    get client() {
      return pool;
    },
    target: redactUrl(config.url),
    open: async () => {
      await warm(pool, Math.max(config.pool.min, 1));
      // Once more the way handlers query, `pool.query`: an idle client checked out, queried, released.
      // Its first run would otherwise be the first invocation's.
      await pool.query('SELECT 1');
    },
    check: async () => {
      // Every connection busy is no sign of trouble: waiting for one would fail readiness under load.
      if (pool.idleCount === 0 && pool.totalCount >= config.pool.max) return;
      await pool.query('SELECT 1');
      // pg's pool keeps `min` connections but never makes new ones by itself: after a database restart
      // dropped them all, the first handlers would pay for connecting again.
      await topUp();
    },
    refresh: async () => {
      await validateIdle(pool, Math.min(timeoutMs, 2_000));
      await topUp();
    },
    close: () => {
      // A query still running at close belongs to an invocation given up on (a drain past its timeout,
      // Lambda's SIGTERM): pool.end() would wait for it, and PostgreSQL would run it to its end after the
      // process is gone, locks held. It is cancelled on the server first, as psql's Ctrl-C does.
      if (!closing) for (const client of checkedOut) cancelQuery(client);
      closing ??= pool.ending ? Promise.resolve() : pool.end();
      return closing;
    },
  };
}

/**
 * Asks the server to cancel what `client` runs: a CancelRequest with its backend's key, on a connection
 * of its own, as pg's `Client#cancel` sends it (which reads the deprecated `activeQuery`). Harmless on a
 * backend that runs nothing.
 */
function cancelQuery(client: pg.PoolClient): void {
  const { host, port, processID, secretKey } = client as unknown as {
    host: string;
    port: number;
    processID: number | null;
    secretKey: number | null;
  };
  if (processID === null || secretKey === null) return;
  const connection = new pg.Connection() as pg.Connection & {
    connect(port: number | string, host?: string): void;
    cancel(processID: number, secretKey: number): void;
  };
  // Best effort: a server that cannot be reached now has nothing to cancel for us either.
  connection.on('error', () => {});
  connection.on('connect', () => connection.cancel(processID, secretKey));
  if (host.startsWith('/')) connection.connect(`${host}/.s.PGSQL.${port}`);
  else connection.connect(port, host);
}

/** Connects `count` clients at once (so `count` connections exist), runs `SELECT 1` on each, releases them. */
async function warm(pool: pg.Pool, count: number): Promise<void> {
  const attempts = await Promise.allSettled(Array.from({ length: count }, () => pool.connect()));
  const queries = await Promise.allSettled(
    attempts.map(async (attempt) => {
      if (attempt.status === 'rejected') throw attempt.reason;
      try {
        await attempt.value.query('SELECT 1');
        attempt.value.release();
      } catch (error) {
        attempt.value.release(error as Error);
        throw error;
      }
    }),
  );
  const failed = queries.find((q) => q.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Checks every idle client; one that cannot answer within `readTimeoutMs` is dropped from the pool. */
async function validateIdle(pool: pg.Pool, readTimeoutMs: number): Promise<void> {
  const idle = pool.idleCount;
  const attempts = await Promise.allSettled(Array.from({ length: idle }, () => pool.connect()));
  await Promise.all(
    attempts.map(async (attempt) => {
      if (attempt.status === 'rejected') return;
      const client = attempt.value;
      try {
        await client.query({ text: 'SELECT 1', query_timeout: readTimeoutMs } as pg.QueryConfig);
        client.release();
      } catch (error) {
        client.release(error as Error);
      }
    }),
  );
}
