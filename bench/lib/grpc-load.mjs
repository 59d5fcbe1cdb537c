// A lean gRPC load generator on node:http2, run inside the driver: unary calls to greet.v1.Greeter/SayHello
// with the request message encoded once, by hand. @grpc/grpc-js as a client costs about as much CPU per call
// as the servers under test (interceptors, a protobuf encoder, a call object per call), so with two cores it
// would measure itself; this writes the same bytes a grpc-js client does and reads only the status.
import http2 from 'node:http2';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

const PATH = '/greet.v1.Greeter/SayHello';
const NAME = Buffer.from('bench');
// gRPC over HTTP/2 "Length-Prefixed-Message": compressed flag 0, 4-byte big-endian length, then
// HelloRequest { name (field 1, wire type 2) = "bench" }.
const REQUEST = Buffer.concat([Buffer.from([0, 0, 0, 0, NAME.length + 2, 0x0a, NAME.length]), NAME]);
const HEADERS = {
  ':method': 'POST',
  ':path': PATH,
  'content-type': 'application/grpc',
  te: 'trailers',
};
export const EXPECTED_MESSAGE = 'hello, bench';

/** One call on `session`: resolves with the grpc-status (from trailers, or trailers-only headers) and body. */
function call(session) {
  return new Promise((resolve, reject) => {
    const stream = session.request(HEADERS);
    const chunks = [];
    let status;
    stream.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) status = headers['grpc-status'];
    });
    stream.on('trailers', (trailers) => {
      status = trailers['grpc-status'];
    });
    stream.on('data', (chunk) => chunks.push(chunk));
    stream.on('end', () => resolve({ status: Number(status), body: Buffer.concat(chunks) }));
    stream.on('error', reject);
    stream.end(REQUEST);
  });
}

/** The `message` field (1) of a HelloReply behind its 5-byte prefix; enough for the one reply we expect. */
function replyMessage(body) {
  if (body.length < 7 || body[5] !== 0x0a) return undefined;
  return body.subarray(7, 7 + body[6]).toString();
}

function connect(port) {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

/**
 * Calls SayHello on 127.0.0.1:`port` until a call succeeds (a refused connection is retried after 1 ms) and
 * returns when: spawn → first OK call. Gives up when `child` exits or after `timeoutMs`.
 */
export async function firstCall(port, child, timeoutMs = 20_000) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (child.hasExited()) throw new Error('exited before answering');
    if (performance.now() > deadline) throw new Error(`no answer within ${timeoutMs} ms`);
    let session;
    try {
      session = await connect(port);
      const { status, body } = await call(session);
      const at = performance.now();
      const message = replyMessage(body);
      if (status !== 0 || message !== EXPECTED_MESSAGE) {
        throw Object.assign(new Error(`answered grpc-status ${status}, message ${JSON.stringify(message)}`), {
          final: true,
        });
      }
      return { at };
    } catch (error) {
      if (error.final) throw error;
      await sleep(1);
    } finally {
      session?.destroy();
    }
  }
}

/**
 * Keeps `concurrency` calls in flight, spread over `connections` HTTP/2 connections, for `ms`; returns how
 * many succeeded and how many did not.
 */
export async function driveCalls(port, { ms, concurrency, connections = 1 }) {
  const sessions = await Promise.all(Array.from({ length: connections }, () => connect(port)));
  for (const session of sessions) session.on('error', () => {});
  const until = performance.now() + ms;
  let ok = 0;
  let failed = 0;
  const worker = async (session) => {
    while (performance.now() < until) {
      try {
        const { status } = await call(session);
        if (status === 0) ok += 1;
        else failed += 1;
      } catch {
        failed += 1;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(sessions[i % connections])));
  } finally {
    for (const session of sessions) session.destroy();
  }
  return { ok, failed };
}
