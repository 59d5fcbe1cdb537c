import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply } from 'fastify';
import { type ErrorCode, type ErrorPayload, errorCatalog } from '../../runtime/errors.js';
import type { HttpResponse } from './request.js';
import { hasNoContent } from './results-shared.js';

/** A request justfn refused (bad input, overload, draining): status from the catalog, a precise message. */
export function errorResponse(
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
): HttpResponse {
  const { type, status } = errorCatalog[code];
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ errorType: type, errorMessage: message }),
  };
}

/**
 * What an HTTP caller sees of a failed invocation: API Gateway's own answers (a bare 500, a 504), never
 * the error itself unless `JUSTFN_EXPOSE_ERRORS=1` asked for it (local work).
 */
export function functionErrorResponse(error: ErrorPayload, timedOut: boolean, expose: boolean): HttpResponse {
  // A streamed response whose prelude cannot go on the wire: refused as a returned result would be.
  if (error.errorType === errorCatalog.BAD_HANDLER_RESULT.type) return badResultResponse(error, expose);
  // A declared resource that is not open yet (or down): the instance cannot serve now, the caller may
  // retry — a 503, as when it is overloaded, not the function's 500. So may the caller of a request that
  // waited for a slot until the instance shut down: it never ran.
  const unavailable = error.errorType === errorCatalog.RESOURCE_UNAVAILABLE.type;
  if (unavailable || (error.errorType === errorCatalog.DRAINING.type && !timedOut)) {
    return {
      statusCode: 503,
      headers: unavailable
        ? { 'content-type': 'application/json', 'retry-after': '1' }
        : { 'content-type': 'application/json', 'retry-after': '1', connection: 'close' },
      body: expose ? JSON.stringify(error) : '{"message":"Service Unavailable"}',
    };
  }
  const statusCode = timedOut ? 504 : 500;
  const body = expose
    ? JSON.stringify(error)
    : timedOut
      ? '{"message":"Endpoint request timed out"}'
      : '{"message":"Internal Server Error"}';
  return { statusCode, headers: { 'content-type': 'application/json' }, body };
}

/**
 * A handler result API Gateway or ALB would reject: their 502. A result JSON cannot hold is a function
 * error on Lambda (the runtime posts it to `/error`), which API Gateway answers 500.
 */
export function badResultResponse(error: ErrorPayload, expose: boolean): HttpResponse {
  return {
    statusCode: error.errorType === errorCatalog.STRINGIFY_RESULT.type ? 500 : 502,
    headers: { 'content-type': 'application/json' },
    body: expose ? JSON.stringify(error) : '{"message":"Internal Server Error"}',
  };
}

/**
 * Writes an {@link HttpResponse} on the request's own `http.ServerResponse`, adding the invocation's
 * `x-request-id` (unless the handler set one) and the body's length. The reply is taken from fastify (`hijack`): the result's headers
 * were checked by the event format already, and its content type goes out as the handler set it.
 */
export function send(reply: FastifyReply, response: HttpResponse, requestId: string): void {
  const res = reply.raw;
  if (reply.sent || res.headersSent) return;
  reply.hijack();
  lastIfDraining(reply);
  const { statusCode, body } = response;
  // Each response is built for one request: its headers are completed in place.
  const headers: OutgoingHttpHeaders = response.headers;
  // The handler's own (correlation middleware echoing its caller's) goes out as it set it.
  headers['x-request-id'] ??= requestId;
  // No content in a 204 (RFC 9110 §15.3.5): neither a body nor its type and length. A 205 has none
  // either, and says so with a zero length (§15.3.6). A 304 has no body, and no length computed from
  // one the handler returned anyway: a cache takes a 304's fields as its stored response's (RFC 9111
  // §4.3.4), so only what the handler set goes out (no default content type either, see the formats).
  if (hasNoContent(statusCode)) {
    if (statusCode !== 304) delete headers['content-type'];
    if (statusCode === 205) headers['content-length'] = 0;
    res.writeHead(statusCode, response.statusMessage, headers).end();
    return;
  }
  headers['content-length'] = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  res.writeHead(statusCode, response.statusMessage, headers).end(body);
}

/**
 * Once a drain has closed the listener, an answer is the last on its connection (`Connection: close`):
 * the drain closes every connection when it ends, and a client that sent its next request on this one
 * would lose it; told, it opens a new connection, which the closed listener refuses before anything is
 * accepted. Call it before the head is written.
 */
export function lastIfDraining(reply: FastifyReply): void {
  if (!reply.server.server.listening) reply.raw.shouldKeepAlive = false;
}
