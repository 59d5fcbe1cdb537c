import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { loadGrpcService } from '../../runtime/resources/grpc.js';
import { startFakeRuntimeApi } from '../helpers/fake-runtime-api.js';
import { startHttpRuntime } from '../helpers/http-runtime.js';
import { cleanEnv, runtimeCommand, spawnCaptured } from '../helpers/process.js';
import { greeterProto } from '../runtime/resources/servers.js';
import { reliabilityFixtures } from './soak.js';

// Issue 6, point 3: a gRPC dependency that hangs — a server that takes calls and never answers them, and
// one that accepts connections and never says a word (no HTTP/2 at all). Nothing may wait forever: the
// caller's deadline, the invocation's deadline or the resource's open timeout ends every wait, and the
// instance keeps serving. (A dependency that is down, then up, is test/lifecycle/.)

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});
const fixture = `${reliabilityFixtures}/grpc`;

/** A Greeter whose calls are taken and never answered. */
async function startHangingGreeter() {
  const server = new grpc.Server();
  let calls = 0;
  server.addService(loadGrpcService(greeterProto, 'test.greeter.v1.Greeter').service, {
    Hello: () => {
      calls += 1;
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  cleanup.push(() => server.forceShutdown());
  return { target: `127.0.0.1:${port}`, calls: () => calls };
}

/** A TCP server that accepts connections and never writes a byte. */
async function startSilentServer() {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

async function get(url: string) {
  const reply = await request(url);
  return {
    status: reply.statusCode,
    body: await reply.body.text(),
    id: reply.headers['x-request-id'],
    retryAfter: reply.headers['retry-after'],
  };
}

describe('a gRPC dependency that takes calls and never answers (HTTP mode)', () => {
  it("the handler's deadline fails the call; without one the invocation's deadline answers 504; serving goes on", async () => {
    const auth = await startHangingGreeter();
    const runtime = await startHttpRuntime('index.handler', {
      LAMBDA_TASK_ROOT: fixture,
      AUTH_TARGET: auth.target,
      JUSTFN_TIMEOUT: '2',
    });
    cleanup.push(() => runtime.stop());
    await expect.poll(async () => (await get(`${runtime.url}/_/health/ready`)).status).toBe(200);

    const forever = get(`${runtime.url}/hello`);
    const bounded = await get(`${runtime.url}/hello?deadline=300`);
    expect([bounded.status, bounded.body]).toEqual([500, '{"message":"Internal Server Error"}']);
    const logged = await runtime.waitForLog((l) => l.requestId === bounded.id && l.msg === 'Invoke Error');
    expect((logged.err as { message: string }).message).toMatch(/^4 DEADLINE_EXCEEDED: Deadline exceeded/);

    expect(await forever).toMatchObject({ status: 504, body: '{"message":"Endpoint request timed out"}' });
    expect(auth.calls()).toBe(2);
    // The slot the hung call held is free again: the instance answers as before.
    expect((await get(`${runtime.url}/hello?deadline=300`)).status).toBe(500);
    expect((await get(`${runtime.url}/_/health/live`)).status).toBe(200);
    expect(runtime.process.child.exitCode).toBeNull();
  });
});

describe('a gRPC dependency that accepts connections and never speaks', () => {
  it('HTTP mode: not ready, naming auth and the timeout; requests are 503, not a hang', async () => {
    const runtime = await startHttpRuntime('index.handler', {
      LAMBDA_TASK_ROOT: fixture,
      AUTH_TARGET: await startSilentServer(),
    });
    cleanup.push(() => runtime.stop());
    const retry = await runtime.waitForLog((l) => l.resource === 'auth' && l.level === 'warn');
    expect(retry.msg).toMatch(
      /^resource 'auth' \(grpc, test\.greeter\.v1\.Greeter at \[redacted\]\): cannot open: channel not READY within 1000 ms \(state \w+\); retrying in \d+ ms$/,
    );
    const ready = await get(`${runtime.url}/_/health/ready`);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body).reasons).toEqual([
      expect.stringMatching(/^resource auth: (retrying|opening)/),
    ]);
    // The instance cannot serve now, the caller may come back: told when.
    expect(await get(`${runtime.url}/hello?deadline=300`)).toMatchObject({
      status: 503,
      body: '{"message":"Service Unavailable"}',
      retryAfter: '1',
    });
  });

  it('Lambda mode: init gives up after the resource timeout, /init/error names auth, exit 129', async () => {
    const fake = await startFakeRuntimeApi();
    cleanup.push(() => fake.close());
    const runtime = spawnCaptured(
      runtimeCommand,
      cleanEnv({
        AWS_LAMBDA_RUNTIME_API: fake.address,
        LAMBDA_TASK_ROOT: fixture,
        _HANDLER: 'index.handler',
        AUTH_TARGET: await startSilentServer(),
      }),
    );
    cleanup.push(() => runtime.kill());
    expect(await runtime.exited).toBe(129);
    const posted = await fake.waitFor((r) => r.path.endsWith('/init/error'));
    expect(posted.headers['lambda-runtime-function-error-type']).toBe('Runtime.ResourceUnavailable');
    expect(JSON.parse(posted.body.toString()).errorMessage).toMatch(
      /^resource 'auth' \(grpc, test\.greeter\.v1\.Greeter at \[redacted\]\): cannot open: channel not READY within 1000 ms/,
    );
  });
});
