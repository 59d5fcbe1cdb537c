import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator } from '../helpers/emulator.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { databaseUrl, fixture } from './harness.js';

// A function's init loads what its resources use and no more: PostgreSQL's SCRAM authentication through
// node:crypto without Web Crypto, the `http` kind without Node's HTTP stack (each costs milliseconds of
// every cold start). The handler reports what is loaded, after a query and a request that must work.

let db: TestPostgres;
let upstream: Server;
beforeAll(async () => {
  db = await startPostgres();
  upstream = createServer((_request, response) => response.end('upstream'));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
});
// Optional chaining: when beforeAll failed, its error is the one to read, not a TypeError from here.
afterAll(async () => {
  await new Promise((resolve) => (upstream ? upstream.close(resolve) : resolve(undefined)));
  await db?.destroy();
});

describe('Lambda init with a postgres and an http resource', () => {
  it('authenticates with SCRAM and requests, without loading node:http or Web Crypto', async () => {
    const { port } = upstream.address() as AddressInfo;
    const emulator = await startTestEmulator('index.handler', {
      taskRoot: fixture('lean'),
      env: { DATABASE_URL: databaseUrl(db), API_ORIGIN: `http://127.0.0.1:${port}` },
    });
    try {
      const reply = await emulator.invoke('{}');
      expect(reply.headers['x-amz-function-error']).toBeUndefined();
      expect(JSON.parse(reply.text)).toEqual({ one: 1, api: 'upstream', loaded: [] });
    } finally {
      await emulator.close();
    }
  });
});
