import { once } from 'node:events';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthCheck, startGrpcRuntime } from '../helpers/grpc-runtime.js';
import { CANARY, family, runs, secretEnv } from './hostile.js';

// Issue 6, point 4, in gRPC mode: request messages that do not decode, messages over the limit, huge
// metadata. The gRPC counterpart of "a 4xx, never a 5xx": INVALID_ARGUMENT or RESOURCE_EXHAUSTED naming
// the problem, never INTERNAL or UNKNOWN; the runtime serves on.

let runtime: Awaited<ReturnType<typeof startGrpcRuntime>>;
let client: grpc.Client;
beforeAll(async () => {
  runtime = await startGrpcRuntime({ ...secretEnv, JUSTFN_MAX_BODY: '65536' });
  client = new grpc.Client(`127.0.0.1:${runtime.port}`, grpc.credentials.createInsecure());
});
afterAll(async () => {
  client.close();
  await runtime.stop();
});

/** One SayHello (or another method) with these bytes as the request message: the status code and details. */
function call(
  bytes: Buffer,
  metadata = new grpc.Metadata(),
  method = '/greet.v1.Greeter/SayHello',
): Promise<{ code: number; details: string }> {
  return new Promise((resolve) =>
    client.makeUnaryRequest(
      method,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      metadata,
      (error) => resolve(error ? { code: error.code, details: error.details } : { code: 0, details: '' }),
    ),
  );
}

function expectNoLeak(details: string) {
  expect(details).not.toContain(CANARY);
  expect(details).not.toMatch(/\n\s+at |\.m?[cj]s:\d+/);
}

describe('gRPC mode: hostile request messages', () => {
  const tried = family('gRPC messages and metadata');

  it('random bytes: OK when they decode, INVALID_ARGUMENT naming the method when not', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), async (bytes) => {
        tried.tried();
        const { code, details } = await call(Buffer.from(bytes));
        expect([grpc.status.OK, grpc.status.INVALID_ARGUMENT]).toContain(code);
        if (code !== grpc.status.OK) {
          expect(details).toMatch(/^SayHello: the request is not a valid protobuf message \(.+\)$/);
        }
        expectNoLeak(details);
      }),
      { numRuns: runs(100) },
    );
  });

  it.each([
    ['a varint that never ends', Buffer.from([0x08, 0xff, 0xff, 0xff]), grpc.status.INVALID_ARGUMENT],
    ['an invalid wire type', Buffer.from([0x0f]), grpc.status.INVALID_ARGUMENT],
    // protobufjs alone decodes it as `name: "A"`: the handler ran on a message cut short.
    [
      'a string field cut short (80 bytes announced, 1 sent)',
      Buffer.from([0x0a, 0x50, 0x41]),
      grpc.status.INVALID_ARGUMENT,
    ],
    [
      'a message of exactly the limit, padded with unknown fields',
      Buffer.concat([Buffer.from([0x12, 0xfa, 0xff, 0x03]), Buffer.alloc(65530, 0x41)]),
      grpc.status.OK,
    ],
    ['a message over JUSTFN_MAX_BODY', Buffer.alloc(65537, 0), grpc.status.RESOURCE_EXHAUSTED],
  ])('%s', async (_name, bytes, expected) => {
    tried.tried();
    const { code, details } = await call(bytes);
    expect({ code, details }).toMatchObject({ code: expected });
    expectNoLeak(details);
  });

  // The health service decodes its one-field request by hand; anyone who can reach the port can call it.
  const health = (bytes: Buffer) => call(bytes, new grpc.Metadata(), '/grpc.health.v1.Health/Check');
  it.each([
    ['a length varint that decodes to a negative number', Buffer.from([0x0a, 0xfa, 0xff, 0xff, 0xff, 0x0f])],
    ['a length past the end', Buffer.from([0x0a, 0x05, 0x61])],
    ['a varint that never ends', Buffer.from([0x08, 0xff, 0xff])],
    ['an invalid wire type', Buffer.from([0x0f])],
  ])('Health/Check with %s: INVALID_ARGUMENT, and the health service answers on', async (_name, bytes) => {
    tried.tried();
    expect(await health(bytes)).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'grpc.health.v1.Health/Check: the request is not a HealthCheckRequest',
    });
    expect(await healthCheck(runtime.port)).toBe('SERVING');
  });

  it('Health/Check with random bytes: an answer every time (OK, NOT_FOUND or INVALID_ARGUMENT)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 32 }), async (bytes) => {
        tried.tried();
        const { code } = await health(Buffer.from(bytes));
        expect([grpc.status.OK, grpc.status.NOT_FOUND, grpc.status.INVALID_ARGUMENT]).toContain(code);
      }),
      { numRuns: runs(100) },
    );
  });

  it('metadata of 16 KiB is served', async () => {
    tried.tried();
    const metadata = new grpc.Metadata();
    metadata.set('x-big', 'm'.repeat(16 * 1024));
    expect(await call(Buffer.alloc(0), metadata)).toEqual({ code: grpc.status.OK, details: '' });
  });

  it("metadata of 1 MiB: Node's HTTP/2 layer resets the stream before any call is made", async () => {
    tried.tried();
    const metadata = new grpc.Metadata();
    metadata.set('x-big', 'm'.repeat(1024 * 1024));
    // grpc-js reports a reset stream as INTERNAL on the client side; the server never saw a call.
    expect(await call(Buffer.alloc(0), metadata)).toEqual({
      code: grpc.status.INTERNAL,
      details: expect.stringMatching(/^Received RST_STREAM with code \d+$/),
    });
  });

  it('after all of it, the service answers as before', async () => {
    const { value } = await runtime.unary('SayHello', { name: 'after' });
    expect(value).toMatchObject({ message: 'hello, after' });
    expect(runtime.process.child.exitCode).toBeNull();
    expect(runtime.logs().filter((l) => l.level === 'fatal')).toEqual([]);
  });
});

describe('gRPC mode: connections that take without giving', () => {
  let quick: Awaited<ReturnType<typeof startGrpcRuntime>>;
  beforeAll(async () => {
    // A 2 s body timeout bounds how long a connection may stay without a call (65 s by default).
    quick = await startGrpcRuntime({ JUSTFN_BODY_TIMEOUT: '2' });
  });
  afterAll(() => quick.stop());

  it.each([
    ['nothing', ''],
    ['half the HTTP/2 preface', 'PRI * HTTP/2.0\r\n'],
  ])(
    'a connection that sends %s is closed once it has had no call for that long',
    async (_, bytes) => {
      const socket = net.connect(quick.port, '127.0.0.1');
      socket.resume();
      socket.on('error', () => {});
      await once(socket, 'connect');
      socket.write(bytes);
      const started = Date.now();
      await once(socket, 'close');
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
      expect(await healthCheck(quick.port)).toBe('SERVING');
    },
    15_000,
  );
});
