/**
 * A plain HTTP request as the HTTP source received it, before any event format looks at it. Nothing here
 * is trusted: every field except `remoteAddress`, `requestId` and `receivedAt` comes from the client.
 *
 * @example
 * const req: HttpRequest = {
 *   method: 'GET',
 *   url: '/a%20b?x=1&x=2',
 *   rawHeaders: ['Host', 'example.com', 'Cookie', 'a=1; b=2'],
 *   body: Buffer.alloc(0),
 *   remoteAddress: '203.0.113.7',
 *   httpVersion: '1.1',
 *   requestId: crypto.randomUUID(),
 *   receivedAt: Date.now(),
 * };
 */
export interface HttpRequest {
  method: string;
  /** Path and query exactly as sent, e.g. '/a%20b?x=1&x=2' (an absolute-form target is accepted too). */
  url: string;
  /** Node's rawHeaders: [name, value, name, value, ...] in arrival order, original case. */
  rawHeaders: readonly string[];
  body: Buffer;
  /** The socket's peer address: the only source of `sourceIp`. */
  remoteAddress: string;
  /** '1.1' or '2.0'. */
  httpVersion: string;
  /** A fresh UUID per invocation, chosen by the source. */
  requestId: string;
  /** Epoch milliseconds. */
  receivedAt: number;
}

/**
 * What a format makes of a handler's result: ready for the wire. Header names are lower-case; a name with
 * several values (Set-Cookie) has an array. Hop-by-hop headers and Content-Length are never present: the
 * server frames the body itself.
 *
 * @example
 * const res: HttpResponse = { statusCode: 200, headers: { 'set-cookie': ['a=1', 'b=2'] }, body: 'ok' };
 */
export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: Buffer | string;
  /** Reason phrase (ALB's `statusDescription`); the server's default when absent. */
  statusMessage?: string;
}

/**
 * One incoming shape (STYLE habit 2): how a plain request becomes the handler's event, and how the
 * handler's result becomes the HTTP response. Both functions are pure.
 *
 * @example
 * const format: HttpEventFormat<ApiGatewayV2Event, ApiGatewayV2Options> = apiGatewayV2;
 * const event = format.toEvent(req, { stage: '$default' });
 * const res = format.toResponse(await handler(event, context));
 */
export interface HttpEventFormat<Event, Options> {
  toEvent(req: HttpRequest, options?: Options): Event;
  /** Throws `JustfnError('BAD_HANDLER_RESULT')` for a result AWS would reject with a 5xx. */
  toResponse(result: unknown, options?: Options): HttpResponse;
}
