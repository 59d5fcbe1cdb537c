// A mock Lambda Runtime API (reference/lambda-runtime.md §1) built to cost as little as possible per
// invocation, so that the runtimes under test, not the mock, set the pace. It is a raw `net` server with a
// hand-written HTTP/1.1 reader: node:http allocates an IncomingMessage and a ServerResponse per request and
// runs the llhttp parser plus header objects, which costs about twice the CPU per invocation of this
// (measured while building it; the bench prints the mock's own CPU per invocation with every run).
//
// It runs inside the bench driver's process: spawn times and request arrivals are then read from one clock
// with no IPC, and the driver does nothing else while a runtime is measured. Almost all of its CPU per
// invocation is the two socket writes (the kernel's loopback delivery is charged to the writer), which any
// mock pays.
import net from 'node:net';
import { performance } from 'node:perf_hooks';

const API = '/2018-06-01/runtime';
const NEXT = `${API}/invocation/next`;
const INVOCATION = `${API}/invocation/`;

/** The fixed small event every runtime receives (the Lambda console's "hello-world" test event). */
export const EVENT = '{"key1":"value1","key2":"value2","key3":"value3"}';

const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:bench';
const TRACE = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
// RAPID's answer to a response or error post (RIE internal/lambda/rapi/rendering).
const ACCEPTED =
  'HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{"status":"OK"}\n';
const NOT_FOUND = 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n';
// The Extensions API as a runtime uses it to ask for SIGTERM at shutdown (justfn with resources does): a
// registration, then a next event that never comes.
const EXTENSION_REGISTER = '/2020-01-01/extension/register';
const EXTENSION_NEXT = '/2020-01-01/extension/event/next';
const REGISTERED =
  'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Extension-Identifier: bench-extension\r\n' +
  'Content-Length: 2\r\n\r\n{}';
const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * One runtime process's conversation with the mock. `serving` decides what a `GET /next` gets: an event at
 * once, or nothing until `serve()` (the runtime is then idle, as between invocations on Lambda). The first
 * event is handed out at once; after its response the mock holds until told to serve.
 */
class Session {
  constructor({ record = false } = {}) {
    // With `record`, every response's latency (ms from writing its event to its arrival) and body are kept,
    // for suites that time single invocations; off by default, so the load rounds pay no clock read for it.
    this.record = record ? [] : undefined;
    this.eventAt = undefined;
    this.address = undefined;
    this.serving = true;
    this.firstNextAt = undefined;
    this.firstEventAt = undefined;
    this.firstResponseAt = undefined;
    this.firstResponseBody = undefined;
    this.responses = 0;
    this.errors = [];
    this.sockets = new Set();
    this.parked = undefined;
    this.requestId = undefined;
    this.sequence = 0;
    this.waiters = [];
  }

  /** Resolves when `predicate()` holds; checked after every request the session sees. */
  until(predicate, timeoutMs, what) {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
        timeoutMs,
      );
      this.waiters.push({ predicate, resolve, timer });
    });
  }

  /** Hands out events again, starting with the `/next` that is parked, if any. */
  serve() {
    this.serving = true;
    const socket = this.parked;
    this.parked = undefined;
    if (socket && !socket.destroyed) this.sendEvent(socket);
  }

  hold() {
    this.serving = false;
  }

  destroy() {
    for (const socket of this.sockets) socket.destroy();
    for (const waiter of this.waiters) clearTimeout(waiter.timer);
    this.waiters = [];
  }

  onNext(socket) {
    if (this.firstNextAt === undefined) this.firstNextAt = performance.now();
    if (this.serving) this.sendEvent(socket);
    else this.parked = socket;
  }

  sendEvent(socket) {
    this.sequence += 1;
    // A UUID-shaped id, unique per invocation, built without crypto.
    this.requestId = `c0ffee00-0000-4000-8000-${String(this.sequence).padStart(12, '0')}`;
    const event =
      'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n' +
      `Lambda-Runtime-Aws-Request-Id: ${this.requestId}\r\n` +
      `Lambda-Runtime-Deadline-Ms: ${Date.now() + 300_000}\r\n` +
      `Lambda-Runtime-Invoked-Function-Arn: ${ARN}\r\nLambda-Runtime-Trace-Id: ${TRACE}\r\n` +
      `Content-Length: ${EVENT.length}\r\n\r\n${EVENT}`;
    // The clock is read before the write: on one CPU the woken runtime may run inside it, and its work
    // would then fall before a clock read after it.
    if (this.firstEventAt === undefined) this.firstEventAt = performance.now();
    if (this.record) this.eventAt = performance.now();
    socket.write(event);
  }

  onPost(socket, path, body) {
    const rest = path.startsWith(INVOCATION) ? path.slice(INVOCATION.length) : '';
    const slash = rest.indexOf('/');
    const id = decodeURIComponent(rest.slice(0, slash));
    const what = rest.slice(slash + 1);
    if (what === 'response' && id === this.requestId) {
      this.requestId = undefined;
      this.responses += 1;
      if (this.record) this.record.push({ ms: performance.now() - this.eventAt, body: body.toString() });
      if (this.firstResponseAt === undefined) {
        this.firstResponseAt = performance.now();
        this.serving = false;
        this.firstResponseBody = body.toString();
      }
    } else {
      this.errors.push(`${path}: ${body.toString().slice(0, 500)}`);
    }
    socket.write(ACCEPTED);
  }

  settle() {
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.predicate()) return true;
      clearTimeout(waiter.timer);
      waiter.resolve();
      return false;
    });
  }
}

/**
 * Starts a mock for one runtime process on 127.0.0.1, port 0: one server per process, so that several
 * runtimes can be alive at once (the load rounds keep them all warm) without telling their sockets apart.
 *
 * @example
 * const api = await startMockRuntimeApi();  // { record: true } keeps each response's latency and body; then spawn a runtime with AWS_LAMBDA_RUNTIME_API=api.address
 * await api.until(() => api.responses > 0, 10_000, 'a first response');
 * await api.close();
 */
export async function startMockRuntimeApi(options) {
  const session = new Session(options);
  const server = net.createServer({ noDelay: true }, (socket) => {
    session.sockets.add(socket);
    socket.on('close', () => session.sockets.delete(socket));
    socket.on('error', () => {});
    readRequests(socket, session);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  session.address = `127.0.0.1:${server.address().port}`;
  session.close = () => {
    session.destroy();
    return new Promise((resolve) => server.close(resolve));
  };
  return session;
}

// A minimal HTTP/1.1 request reader: request line, Content-Length or chunked bodies, keep-alive, pipelining.
// Enough for the runtimes under test; it is not a general server. A request's head is parsed once, also
// when its body comes in a later segment (aws-lambda-ric's curl writes a POST's head and body apart).
function readRequests(socket, session) {
  let pending = Buffer.alloc(0);
  let head;
  socket.on('data', (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    for (;;) {
      if (head === undefined) {
        head = parseHead(pending);
        if (head === undefined) break;
        if (head.expectContinue) socket.write('HTTP/1.1 100 Continue\r\n\r\n');
      }
      const request = readBody(pending, head);
      if (request === undefined) break;
      head = undefined;
      pending = pending.subarray(request.consumed);
      if (request.method === 'GET' && request.path === NEXT) session.onNext(socket);
      else if (request.method === 'POST' && request.path === EXTENSION_REGISTER) socket.write(REGISTERED);
      // A next event for the extension never comes: the request is left unanswered.
      else if (request.method === 'GET' && request.path === EXTENSION_NEXT) continue;
      else if (request.method === 'POST') session.onPost(socket, request.path, request.body);
      else socket.write(NOT_FOUND);
      session.settle();
    }
  });
}

function parseHead(buffer) {
  const headerEnd = buffer.indexOf(HEADER_END);
  if (headerEnd === -1) return undefined;
  const lines = buffer.toString('latin1', 0, headerEnd).split('\r\n');
  const [method, path] = lines[0].split(' ');
  let length = 0;
  let chunked = false;
  let expectContinue = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    if (name === 'content-length') length = Number(line.slice(colon + 1));
    else if (name === 'transfer-encoding') chunked = /chunked/i.test(line);
    else if (name === 'expect') expectContinue = /100-continue/i.test(line);
  }
  return { method, path, length, chunked, expectContinue, bodyStart: headerEnd + 4 };
}

function readBody(buffer, { method, path, length, chunked, bodyStart }) {
  if (chunked) {
    const decoded = readChunked(buffer, bodyStart);
    return decoded && { method, path, body: decoded.body, consumed: decoded.end };
  }
  if (buffer.length < bodyStart + length) return undefined;
  const body = buffer.subarray(bodyStart, bodyStart + length);
  return { method, path, body, consumed: bodyStart + length };
}

// RFC 9112 §7.1: size line, data, CRLF; a zero-size chunk and the (possibly empty) trailer section end it.
function readChunked(buffer, start) {
  const parts = [];
  let at = start;
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', at);
    if (lineEnd === -1) return undefined;
    const size = Number.parseInt(buffer.toString('latin1', at, lineEnd), 16);
    if (size === 0) {
      const end = buffer.indexOf('\r\n\r\n', lineEnd);
      if (end === -1) return undefined;
      return { body: Buffer.concat(parts), end: end + 4 };
    }
    if (buffer.length < lineEnd + 2 + size + 2) return undefined;
    parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}
