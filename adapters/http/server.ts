import type { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { JustfnError } from '../../runtime/errors.js';
import type { MetricsRecorder } from '../../runtime/metrics-recorder.js';
import type { QueueSource } from '../../runtime/queue-source.js';
import { newRequestId } from '../../runtime/request-id.js';
import { isCloudEventRequest, parseCloudEvents, toBatchResponse } from './cloudevents.js';
import type { createInvocationFactory, HttpInvocation } from './http-invocations.js';

type HttpSource = QueueSource<HttpInvocation>;

import type { HttpRequest, HttpResponse } from './request.js';
import { errorResponse, send } from './responses.js';

export interface HttpServerOptions {
  maxBody: number;
  /** Seconds for a whole request (headers and body) to arrive: `JUSTFN_BODY_TIMEOUT`. */
  bodyTimeout: number;
  /** Serve the raw Lambda invoke endpoint (`JUSTFN_INVOKE_API=1`). */
  invokeApi: boolean;
  source: HttpSource;
  invocations: ReturnType<typeof createInvocationFactory>;
  /** `GET /_/health/ready`: ready to serve, and if not, why. */
  readiness: () => { ready: boolean; reasons: string[] };
  /** `GET /_/health/live`: worth keeping, and if not, why (a restart is what would help). */
  liveness: () => { live: boolean; reasons: string[] };
  metrics: MetricsRecorder;
  log: { warn(fields: object, message: string): void; error(fields: object, message: string): void };
}

const INVOKE_PATH = '/2015-03-31/functions/function/invocations';
const EMPTY = Buffer.alloc(0);
// Header limits: Node's own 16 KiB for all header bytes, and at most 200 headers, 431 above either. The
// count is checked here: past its own count limit Node 20 drops headers without a word and Node 22 refuses
// them as if they were too large, so Node's limit is off (the 16 KiB bound the count).
const MAX_HEADER_SIZE = 16 * 1024;
const MAX_HEADERS = 200;
const HEADERS_TIMEOUT_MS = 10_000;
const kAwaitingRequest = Symbol('justfn.awaitingRequest');

/**
 * The HTTP source's server: fastify on `$PORT`. Plain requests and CloudEvents become invocations
 * in-process (no loopback hop); `/_/health/live` and `/_/health/ready` are reserved; the raw Lambda
 * invoke endpoint only when asked for. Bodies over `JUSTFN_MAX_BODY` get a 413, oversized headers a
 * 431, a full queue a 503 with `Retry-After`, a draining instance a 503.
 */
export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const { source, invocations, metrics } = options;
  const requestTimeout = options.bodyTimeout * 1000;
  const headersTimeout = Math.min(HEADERS_TIMEOUT_MS, requestTimeout);
  const app = Fastify({
    logger: false,
    bodyLimit: options.maxBody,
    // Node checks both timeouts every `connectionsCheckingInterval` (30 s by default), which let a client
    // trickling its headers hold a connection for up to 40 s: checked every second, 10 s means 10 s.
    // Node refuses a headers timeout longer than the request timeout. Node answers an HTTP/1.1 request
    // without Host with a bare 400 of its own: `handle` refuses it, in JSON.
    http: {
      requireHostHeader: false,
      maxHeaderSize: MAX_HEADER_SIZE,
      headersTimeout,
      connectionsCheckingInterval: 1_000,
    },
    // fastify sets the server's request timeout from its own option (0, none, by default), over `http`'s.
    requestTimeout,
    keepAliveTimeout: 65_000,
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    exposeHeadRoutes: false,
    // Each request's id is a fresh UUID: the invocation's awsRequestId and `x-request-id`. Never the client's.
    genReqId: newRequestId,
    requestIdHeader: false,
    clientErrorHandler: (error, socket) => answerClientError(error, socket, metrics),
    // A path whose percent-encoding does not decode is still the function's (API Gateway passes it on).
    frameworkErrors: (error, request, reply) =>
      error.code === 'FST_ERR_BAD_URL' ? route(request, reply) : answerRequestError(error, request, reply),
    // No route has a schema: fastify's own compilers (ajv, fast-json-stringify) would load for nothing.
    schemaController: { compilersFactory: { buildValidator: noSchemas, buildSerializer: noSchemas } },
  });
  app.server.maxHeadersCount = 0;
  // Expect: 100-continue (RFC 9110 §10.1.1): Node answers 100 by itself, which invited a client to send a
  // body its Content-Length already put over the limit, only to be refused it. Such a request goes on to
  // its 413 without the 100; any other gets its 100 as before.
  app.server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    if (!(Number(request.headers['content-length']) > options.maxBody)) response.writeContinue();
    app.server.emit('request', request, response);
  });
  // Node's headers timeout starts at a request's first byte: a connection that never sends one was kept
  // for ever (3,000 of them held 3,000 descriptors). It gets the same time to begin its first request: an
  // inactivity timeout, which Node's parser refreshes as bytes come, cleared once a request is whole. (Not
  // on the socket's first 'data': a 'data' listener takes the socket off Node's native parsing path.)
  app.server.on('connection', (socket: Socket & { [kAwaitingRequest]?: boolean }) => {
    socket[kAwaitingRequest] = true;
    socket.setTimeout(headersTimeout);
  });
  app.server.prependListener('request', (request: IncomingMessage) => {
    const socket = request.socket as Socket & { [kAwaitingRequest]?: boolean };
    if (!socket[kAwaitingRequest]) return;
    socket[kAwaitingRequest] = false;
    socket.setTimeout(0);
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.setErrorHandler((error: { code?: string; message: string }, request, reply) => {
    // fastify refuses a Content-Type it cannot parse (`json`, `a/b c`), and a QUERY without one, before
    // any parser runs; API Gateway passes such a body on (base64), and so does justfn.
    if (
      error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ||
      error.code === 'FST_ERR_ROUTE_MISSING_CONTENT_TYPE'
    ) {
      handle(request, reply);
    } else answerRequestError(error, request, reply);
  });
  // fastify routes only the methods it knows; the function gets the others Node parses (PROPFIND, …) too.
  app.setNotFoundHandler((request, reply) => route(request, reply));

  // HEAD too: some probes and load balancers check with it.
  const probe = ['GET', 'HEAD'];
  app.route({
    method: probe,
    url: '/_/health/live',
    handler: (_request, reply) => {
      const { live, reasons } = options.liveness();
      reply.code(live ? 200 : 503).send(live ? { status: 'live' } : { status: 'not live', reasons });
    },
  });
  app.route({
    method: probe,
    url: '/_/health/ready',
    handler: (_request, reply) => {
      if (source.closed) return reply.code(503).send({ status: 'not ready', reasons: ['draining'] });
      const { ready, reasons } = options.readiness();
      reply.code(ready ? 200 : 503).send(ready ? { status: 'ready' } : { status: 'not ready', reasons });
    },
  });
  app.all('/_/*', (request, reply) => reserved(request, reply));
  if (options.invokeApi) app.post(INVOKE_PATH, (request, reply) => invokeApi(request, reply));
  app.all('*', (request, reply) => handle(request, reply));

  function answerRequestError(
    error: { code?: string; message: string },
    request: FastifyRequest,
    reply: FastifyReply,
  ) {
    // Already answered (a 413 whose client then went away) or no one to answer (Node answered a
    // timeout itself): counted once, where it was answered.
    if (reply.raw.headersSent || request.raw.socket?.destroyed) return;
    const response = toRequestError(error);
    metrics.rejected(response.reason);
    if (response.reason === 'payload_too_large') closeLingering(request.raw);
    send(reply, response.response, request.id);
  }

  function reserved(request: FastifyRequest, reply: FastifyReply): void {
    metrics.rejected('not_found');
    send(reply, errorResponse('NOT_FOUND', `${request.url.split('?')[0]} is reserved by justfn`), request.id);
  }

  /** A request the router did not route (a method it does not know, a path it cannot decode). */
  function route(request: FastifyRequest, reply: FastifyReply): void {
    if (request.raw.url?.startsWith('/_/')) reserved(request, reply);
    else handle(request, reply);
  }

  // The route handlers answer through `reply` and return nothing: a promise per request would cost an
  // async hook each under AsyncLocalStorage.
  function handle(request: FastifyRequest, reply: FastifyReply): void {
    if (
      tooManyHeaders(request, reply) ||
      missingHost(request, reply) ||
      oddTarget(request, reply) ||
      codedBody(request, reply)
    )
      return;
    const unread = readUnparsedBody(request, options.maxBody);
    if (unread)
      unread.then(
        (body) => dispatch(request, reply, body),
        (error: Error) => reply.send(error),
      );
    else dispatch(request, reply);
  }

  /** RFC 9112 §3.2: a server must refuse an HTTP/1.1 request without Host. */
  function missingHost(request: FastifyRequest, reply: FastifyReply): boolean {
    const raw = request.raw;
    if (raw.headers.host !== undefined || raw.httpVersion !== '1.1') return false;
    metrics.rejected('bad_request');
    const response = errorResponse('BAD_REQUEST', 'an HTTP/1.1 request needs a Host header', {
      connection: 'close',
    });
    send(reply, response, request.id);
    return true;
  }

  /**
   * RFC 9112 §6.1: a transfer coding the server does not understand gets a 501. Node decodes `chunked`
   * alone (and refuses a request whose last coding is not `chunked`), so a body sent `gzip, chunked`
   * would reach the function still compressed, with nothing in the event to say so.
   */
  function codedBody(request: FastifyRequest, reply: FastifyReply): boolean {
    const coding = request.raw.headers['transfer-encoding'];
    if (coding === undefined || coding.trim().toLowerCase() === 'chunked') return false;
    metrics.rejected('unsupported_transfer_coding');
    const message = `the request's Transfer-Encoding is "${coding}": only chunked is supported`;
    send(reply, errorResponse('UNSUPPORTED_TRANSFER_CODING', message), request.id);
    return true;
  }

  /**
   * Request targets that name no resource of this function, refused (400) rather than guessed at: the
   * asterisk form (`OPTIONS *` asks about the server); an absolute form whose authority is not the Host
   * header (RFC 9112 §3.2.2 makes the target's authority win, and the event would carry the other host:
   * two hosts in one request is how requests are routed past a proxy's checks); a fragment, which no
   * client sends (RFC 9112 §3.2).
   */
  function oddTarget(request: FastifyRequest, reply: FastifyReply): boolean {
    const raw = request.raw;
    const url = raw.url ?? '/';
    let problem: string | undefined;
    if (url.charCodeAt(0) !== 47 /* / */) {
      const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url)?.[1];
      if (url === '*') problem = 'the request target * names the server, not a resource';
      else if (authority === undefined || authority.toLowerCase() !== raw.headers.host?.toLowerCase()) {
        problem = "an absolute request target's host must be its Host header";
      }
    } else if (url.includes('#')) {
      problem = 'the request target has a fragment (#...), which is never sent';
    }
    if (problem === undefined) return false;
    metrics.rejected('bad_request');
    send(reply, errorResponse('BAD_REQUEST', problem), request.id);
    return true;
  }

  function tooManyHeaders(request: FastifyRequest, reply: FastifyReply): boolean {
    const count = request.raw.rawHeaders.length / 2;
    if (count <= MAX_HEADERS) return false;
    metrics.rejected('headers_too_large');
    const message = `the request has ${count} headers; at most ${MAX_HEADERS} are allowed`;
    send(reply, errorResponse('HEADERS_TOO_LARGE', message), request.id);
    return true;
  }

  function dispatch(request: FastifyRequest, reply: FastifyReply, body?: Buffer): void {
    const req = toHttpRequest(request, body);
    if (source.closed) {
      refuse(reply, req, 'DRAINING', 'this instance is shutting down', 'draining');
      return;
    }
    try {
      if (isCloudEventRequest(req)) dispatchCloudEvents(reply, req, parseCloudEvents(req));
      else submit(reply, req, invocations.plain(req, reply));
    } catch (error) {
      if (!(error instanceof JustfnError)) throw error;
      metrics.rejected(error.status === 415 ? 'unsupported_media_type' : 'bad_request');
      send(reply, errorResponse(error.code, error.message), req.requestId);
    }
  }

  /** One CloudEvent is one invocation; a batch is one per event, answered together. */
  function dispatchCloudEvents(
    reply: FastifyReply,
    req: HttpRequest,
    parsed: ReturnType<typeof parseCloudEvents>,
  ): void {
    if (parsed.mode !== 'batch') {
      submit(reply, req, invocations.cloudEvent(req, reply, parsed.event));
    } else if (parsed.events.length === 0) {
      send(reply, { statusCode: 202, headers: {}, body: '' }, req.requestId);
    } else if (parsed.events.length > source.limit) {
      // More than the instance can ever hold: a 503 would be retried, and refused, for ever.
      metrics.rejected('payload_too_large');
      const message = `a batch of ${parsed.events.length} events is more than this instance takes at once (JUSTFN_CONCURRENCY + JUSTFN_QUEUE = ${source.limit})`;
      send(reply, errorResponse('PAYLOAD_TOO_LARGE', message), req.requestId);
    } else if (parsed.events.length > source.capacity()) {
      refuse(reply, req, 'OVERLOADED', 'too many invocations waiting', 'overloaded');
    } else {
      const responses: HttpResponse[] = [];
      const requestIds: string[] = [];
      let left = parsed.events.length;
      for (const event of parsed.events) {
        const one = { ...req, requestId: newRequestId() };
        const invocation = invocations.cloudEvent(one, reply, event, (response) => {
          responses.push(response);
          requestIds.push(one.requestId);
          if (--left > 0) return;
          // A failure is answered under the failed event's request id, the one its log lines carry.
          const answer = toBatchResponse(responses);
          send(reply, answer, requestIds[responses.indexOf(answer)] ?? req.requestId);
        });
        source.submit(invocation);
      }
    }
  }

  function submit(reply: FastifyReply, req: HttpRequest, invocation: HttpInvocation): void {
    if (!source.submit(invocation)) {
      refuse(reply, req, 'OVERLOADED', 'too many invocations running and waiting', 'overloaded');
    }
  }

  function refuse(
    reply: FastifyReply,
    req: HttpRequest,
    code: 'DRAINING' | 'OVERLOADED',
    message: string,
    reason: string,
  ): void {
    metrics.rejected(reason);
    const headers: Record<string, string> =
      code === 'OVERLOADED' ? { 'retry-after': '1' } : { connection: 'close' };
    send(reply, errorResponse(code, message, headers), req.requestId);
  }

  function invokeApi(request: FastifyRequest, reply: FastifyReply): void {
    if (tooManyHeaders(request, reply) || missingHost(request, reply) || codedBody(request, reply)) return;
    const req = toHttpRequest(request);
    let event: unknown;
    try {
      event = req.body.length === 0 ? {} : JSON.parse(req.body.toString('utf8'));
    } catch (error) {
      metrics.rejected('bad_request');
      // Lambda's Invoke API's answer, as `justfn emulate` gives it.
      const invalid = {
        errorType: 'InvalidRequestContentException',
        errorMessage: `Could not parse request body into json: ${(error as Error).message}`,
      };
      const headers = { 'content-type': 'application/json' };
      send(reply, { statusCode: 400, headers, body: JSON.stringify(invalid) }, req.requestId);
      return;
    }
    if (source.closed) refuse(reply, req, 'DRAINING', 'this instance is shutting down', 'draining');
    else submit(reply, req, invocations.raw(req, reply, event));
  }

  return app;
}

function noSchemas(): never {
  throw new Error('justfn declares no fastify schemas');
}

function toHttpRequest(request: FastifyRequest, body?: Buffer): HttpRequest {
  const raw = request.raw;
  return {
    method: raw.method ?? 'GET',
    url: raw.url ?? '/',
    rawHeaders: raw.rawHeaders,
    body: body ?? (request.body as Buffer | undefined) ?? EMPTY,
    remoteAddress: raw.socket.remoteAddress ?? '',
    httpVersion: raw.httpVersion,
    requestId: request.id,
    receivedAt: Date.now(),
  };
}

/**
 * fastify reads no body for GET and HEAD, but API Gateway passes one on (its samples have GET bodies):
 * the handler gets it too, under the same limit.
 */
function readUnparsedBody(request: FastifyRequest, limit: number): Promise<Buffer> | undefined {
  const raw = request.raw;
  // No body parsed (`undefined`), or none looked for (`null`: a request the router did not route).
  if (request.body != null || raw.readableEnded) return undefined;
  if (!raw.headers['transfer-encoding'] && !(Number(raw.headers['content-length']) > 0)) return undefined;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      // As fastify does past its own limit: keep nothing more and answer 413; Node discards the rest.
      // (Destroying the socket here left the caller with a reset instead of the 413.)
      raw.off('data', onData);
      raw.resume();
      reject(Object.assign(new Error('body too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE' }));
    };
    raw.on('data', onData);
    raw.on('end', () => resolve(Buffer.concat(chunks)));
    raw.on('error', reject);
  });
}

/** After a refused body, at most this much more is read, for at most this long, before the socket closes. */
const LINGER_BYTES = 8 * 1024 * 1024;
const LINGER_MS = 1_000;

/**
 * A lingering close (nginx's, Apache's) for a request refused while its body still comes: the 413 says
 * `Connection: close`, and Node destroys the socket once it is written. A socket closed with the body's
 * bytes unread sends a reset, and a reset makes the client's kernel drop what it had not read yet — the
 * 413 — so a client still sending (undici, with a 10 MiB body: a third to two thirds of uploads, as bare
 * fastify) got EPIPE instead of the answer. Here the socket only half-closes after the 413, and the rest
 * of the body is read and discarded until it ends, the client closes, or `LINGER_BYTES` or `LINGER_MS`
 * more have gone by: a client cannot keep the server reading a 4 GB body.
 */
function closeLingering(raw: IncomingMessage): void {
  const socket = raw.socket as Socket & { destroySoon?: () => void };
  const from = socket.bytesRead;
  // What Node calls once a `Connection: close` answer is written: end (FIN), then destroy.
  socket.destroySoon = () => {
    socket.end();
    // Node's own, at last, once: destroyed once the FIN after the 413 is out.
    let closing = false;
    const close = () => {
      if (closing) return;
      closing = true;
      Socket.prototype.destroySoon.call(socket);
    };
    if (raw.complete) return close();
    raw.once('end', close);
    const timer = setTimeout(close, LINGER_MS).unref();
    // Counted as each chunk comes (a polled `bytesRead` let a fast client send twice `LINGER_BYTES` between
    // two looks). A 'data' listener takes the socket off Node's native parsing: one about to close can spare it.
    socket.on('data', () => {
      if (socket.bytesRead - from > LINGER_BYTES) close();
    });
    socket.once('close', () => clearTimeout(timer));
  };
}

function toRequestError(error: { code?: string; message: string }): {
  response: HttpResponse;
  reason: string;
} {
  switch (error.code) {
    // `Connection: close` (keep-alive read a 4 GB body to its end), then `closeLingering`.
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        reason: 'payload_too_large',
        response: errorResponse(
          'PAYLOAD_TOO_LARGE',
          'the request body is larger than JUSTFN_MAX_BODY allows',
          { connection: 'close' },
        ),
      };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return {
        reason: 'bad_request',
        response: errorResponse('BAD_REQUEST', 'Content-Length does not match the body'),
      };
    default:
      return {
        reason: 'bad_request',
        response: errorResponse('BAD_REQUEST', 'the request could not be read'),
      };
  }
}

/** Errors Node's HTTP parser raises before fastify sees a request: answered here, in JSON. */
function answerClientError(error: Error & { code?: string }, socket: Socket, metrics: MetricsRecorder): void {
  if (error.code === 'ECONNRESET' || !socket.writable) return;
  // The client closed its side (a FIN) before its request was whole: it has gone, as one that sends a FIN
  // after its request has (http.md), and as one that resets. Nobody reads an answer, and a request given
  // up on is not a malformed one (counted `bad_request`, every upload a client aborted looked like an
  // attack). Node leaves the half-open socket to this handler.
  if (error.code === 'HPE_INVALID_EOF_STATE') {
    socket.destroy();
    return;
  }
  const [status, reason, response] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [
          431,
          'headers_too_large',
          errorResponse('HEADERS_TOO_LARGE', `request headers are larger than ${MAX_HEADER_SIZE} bytes`),
        ]
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'timeout', errorResponse('REQUEST_TIMEOUT', 'the request took too long to arrive')]
        : [400, 'bad_request', errorResponse('BAD_REQUEST', 'malformed HTTP request')];
  metrics.rejected(reason);
  const body = String(response.body);
  socket.end(
    `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
