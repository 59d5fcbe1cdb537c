import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthCheck, startGrpcRuntime } from '../../test/helpers/grpc-runtime.js';

// The auth example as its callers see it: the real bootstrap serving auth.v1.Auth, called through a
// client generated from the .proto in this directory.

const here = import.meta.dirname;
const proto = path.join(here, 'protos', 'auth.proto');
let runtime: Awaited<ReturnType<typeof startGrpcRuntime>>;
beforeAll(async () => {
  runtime = await startGrpcRuntime({}, here, { proto, service: 'auth.v1.Auth' });
});
afterAll(() => runtime?.stop());

describe('examples/auth', () => {
  it('a known token: who holds it and what it allows; the audit line carries the request id', async () => {
    const { value, trailer } = await runtime.unary('Verify', { token: 'bob-token' });
    expect(value).toEqual({ valid: true, subject: 'bob', scopes: ['users:read'] });
    await runtime.process.waitForOutput('"msg":"verified bob"');
    const audit = runtime.logs().find((line) => line.msg === 'verified bob');
    expect(audit?.requestId).toBe(trailer?.get('x-request-id')[0]);
  });

  it('an unknown token is an answer, not an error', async () => {
    expect((await runtime.unary('Verify', { token: 'mallory-token' })).value).toEqual({
      valid: false,
      subject: '',
      scopes: [],
    });
  });

  it('an empty token: INVALID_ARGUMENT naming the problem', async () => {
    const { error } = await runtime.unary('Verify', { token: '' });
    expect([error?.code, error?.details]).toEqual([grpc.status.INVALID_ARGUMENT, 'token is empty']);
  });

  it('reports SERVING on grpc.health.v1, for the whole server and for auth.v1.Auth', async () => {
    expect(await healthCheck(runtime.port)).toBe('SERVING');
    expect(await healthCheck(runtime.port, 'auth.v1.Auth')).toBe('SERVING');
  });

  it('serves the same contract examples/users calls: the two copies of auth.proto are identical', async () => {
    const caller = path.join(here, '..', 'users', 'protos', 'auth.proto');
    expect(await readFile(caller, 'utf8')).toBe(await readFile(proto, 'utf8'));
  });
});
