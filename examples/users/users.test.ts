import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator } from '../../test/helpers/emulator.js';
import { startGrpcRuntime } from '../../test/helpers/grpc-runtime.js';
import { type HttpRuntime, startHttpRuntime } from '../../test/helpers/http-runtime.js';
import { startPostgres, type TestPostgres } from '../../test/helpers/postgres.js';

// Both directions of the founding idea for real: the users function (HTTP, under the real bootstrap)
// calls the auth function (gRPC, under the real bootstrap too) through its `auth` resource, and
// PostgreSQL through its `db` resource — in HTTP mode as on Knative, then unchanged under the local Lambda.

const here = import.meta.dirname;
const authDir = path.join(here, '..', 'auth');
/** examples/auth under `justfn start`, on a free port or on the one it had before a restart. */
const startAuth = (port = 0) =>
  startGrpcRuntime({ PORT: String(port) }, authDir, {
    proto: path.join(authDir, 'protos', 'auth.proto'),
    service: 'auth.v1.Auth',
  });
/** How many Verify calls the auth function has answered: one audit line each. */
const verified = () =>
  auth.logs().filter((line) => /^(verified |unknown token)/.test(String(line.msg))).length;

let db: TestPostgres;
let auth: Awaited<ReturnType<typeof startAuth>>;
let authTarget: string;
let runtime: HttpRuntime;
beforeAll(async () => {
  db = await startPostgres();
  await db.query(await readFile(path.join(here, 'schema.sql'), 'utf8'));
  auth = await startAuth();
  authTarget = `127.0.0.1:${auth.port}`;
  runtime = await startHttpRuntime('src/users.handler', {
    LAMBDA_TASK_ROOT: here,
    DATABASE_URL: db.url,
    AUTH_TARGET: authTarget,
  });
  // It listens at once, and is ready once both connections are open and warm.
  await runtime.waitForLog((line) => line.msg === 'resources open');
});
afterAll(async () => {
  await runtime?.stop();
  await auth?.stop();
  await db?.destroy();
});

async function call(method: 'GET' | 'POST', route: string, token?: string, body?: unknown) {
  const response = await request(`${runtime.url}${route}`, {
    method,
    headers: {
      ...(token && { authorization: `Bearer ${token}` }),
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, json: JSON.parse(text) };
}

describe('examples/users over HTTP', () => {
  it('alice creates a user, bob reads it back; the row records who created it', async () => {
    const created = await call('POST', '/users', 'alice-token', { name: ' Ada ', email: 'Ada@Example.com' });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'Ada', email: 'ada@example.com', createdBy: 'alice' });
    expect(created.headers.location).toBe(`/users/${created.json.id}`);
    const read = await call('GET', `/users/${created.json.id}`, 'bob-token');
    expect(read).toMatchObject({ status: 200, json: created.json });
    const rows = await db.query('SELECT created_by FROM users WHERE id = $1', [created.json.id]);
    expect(rows).toEqual([{ created_by: 'alice' }]);
  });

  it.each([
    ['no token → 401', 'GET', '/users/x', undefined, undefined, 401, 'a valid bearer token is required'],
    [
      'an unknown token → 401',
      'GET',
      '/users/x',
      'mallory-token',
      undefined,
      401,
      'a valid bearer token is required',
    ],
    [
      'a read-only token writing → 403',
      'POST',
      '/users',
      'bob-token',
      {},
      403,
      'this token does not allow users:write',
    ],
    ['an id that is no uuid → 404', 'GET', '/users/42', 'bob-token', undefined, 404, 'no user 42'],
    [
      'a body that is no JSON → 400',
      'POST',
      '/users',
      'alice-token',
      '{',
      400,
      'the body must be JSON: {"name": "...", "email": "..."}',
    ],
    [
      'a bad email → 400',
      'POST',
      '/users',
      'alice-token',
      { name: 'x', email: 'x' },
      400,
      'email: an address like ada@example.com',
    ],
    ['an unknown route → 404', 'GET', '/teams', 'bob-token', undefined, 404, 'no route GET /teams'],
  ] as const)('%s', async (_what, method, route, token, body, status, message) => {
    expect(await call(method, route, token, body)).toMatchObject({ status, json: { message } });
  });

  it('an email registered twice: 409', async () => {
    const user = { name: 'Grace', email: 'grace@example.com' };
    expect((await call('POST', '/users', 'alice-token', user)).status).toBe(201);
    expect(await call('POST', '/users', 'alice-token', user)).toMatchObject({
      status: 409,
      json: { message: 'grace@example.com is already registered' },
    });
  });

  it('every call asked the auth function: it was a real gRPC round trip, with its own request id', async () => {
    const before = verified();
    await call('GET', '/users/00000000-0000-0000-0000-000000000000', 'bob-token');
    await expect.poll(verified).toBe(before + 1);
    expect(auth.logs().at(-1)).toMatchObject({ service: 'auth', msg: 'verified bob' });
  });
});

describe('examples/users on the local Lambda', () => {
  it('the same handler answers an API Gateway HTTP API event', async () => {
    const [user] = await db.query<{ id: string }>(
      "INSERT INTO users (name, email, created_by) VALUES ('Lin', 'lin@example.com', 'test') RETURNING id",
    );
    const lambda = await startTestEmulator('src/users.handler', {
      taskRoot: here,
      env: { DATABASE_URL: db.url, AUTH_TARGET: authTarget },
    });
    try {
      const event = {
        version: '2.0',
        routeKey: '$default',
        rawPath: `/users/${user!.id}`,
        headers: { authorization: 'Bearer bob-token' },
        requestContext: { http: { method: 'GET', path: `/users/${user!.id}` } },
        isBase64Encoded: false,
      };
      const reply = JSON.parse((await lambda.invoke(JSON.stringify(event))).text);
      expect(reply).toMatchObject({ statusCode: 200, headers: { 'content-type': 'application/json' } });
      expect(JSON.parse(reply.body)).toMatchObject({ id: user!.id, name: 'Lin', createdBy: 'test' });
    } finally {
      await lambda.close();
    }
  });
});

describe('examples/users when the auth service is away', () => {
  it('503 with Retry-After while it is down; served again once it is back, without a restart', async () => {
    const { port } = auth;
    await auth.stop();
    const down = await call('GET', '/users/00000000-0000-0000-0000-000000000000', 'bob-token');
    expect(down).toMatchObject({
      status: 503,
      json: { message: 'authentication is unavailable, try again' },
    });
    expect(down.headers['retry-after']).toBe('1');
    auth = await startAuth(port);
    await expect
      .poll(
        async () => (await call('GET', '/users/00000000-0000-0000-0000-000000000000', 'bob-token')).status,
        {
          timeout: 10_000,
          interval: 200,
        },
      )
      .toBe(404);
    expect(runtime.process.child.exitCode).toBeNull();
  });
});
