import { Writable } from 'node:stream';
import { type ErrorPayload, JustfnError } from './errors.js';
import { HIGH_WATER_MARK_SYMBOL, STREAMING_SYMBOL } from './handler-loader.js';
import type { StreamingHandler } from './handler-types.js';
import { createInvokeStore } from './invoke-store.js';
import type { InvocationScope } from './scope.js';
import { shareInstanceof } from './shared-class.js';

/** Status, headers and cookies of a streamed HTTP response (`awslambda.HttpResponseStream.from`). */
export interface HttpPrelude {
  statusCode?: number;
  headers?: Record<string, string>;
  cookies?: string[];
  [key: string]: unknown;
}

export interface StreamHead {
  contentType: string;
  /** Set when the handler used `HttpResponseStream.from`. */
  prelude?: HttpPrelude;
}

/**
 * Where a streaming handler's bytes go. The Lambda source posts them to the Runtime API in one chunked
 * request; the HTTP source writes them to the client's response.
 */
export interface StreamSink {
  /** Called once, before the first byte, or at the end when nothing was written. */
  start(head: StreamHead): void;
  write(chunk: Uint8Array, callback: (error?: Error | null) => void): void;
  /** Ends the body; calls back once the receiver has it all. */
  end(callback: (error?: Error | null) => void): void;
  /** The handler failed after the head was sent: report it in-band (trailers) or abort. */
  fail(error: ErrorPayload): Promise<void>;
}

export const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
// Symbol.for: `HttpResponseStream` from the package a function imports sets it on the runtime's stream.
const kPrelude = Symbol.for('justfn.prelude');

/**
 * The `responseStream` a streaming handler writes to. A `Writable` with AWS's `setContentType`; non-binary
 * chunks are JSON-encoded as AWS's runtime does. Unlike AWS's client, the head (content type and the
 * HttpResponseStream prelude) is sent even when `end()` comes without a `write()`, and an empty stream
 * ends cleanly instead of hanging.
 */
export class ResponseStream extends Writable {
  #sink: StreamSink;
  #contentType = DEFAULT_CONTENT_TYPE;
  #writeCalled = false;
  #started = false;
  [kPrelude]: HttpPrelude | undefined;

  constructor(sink: StreamSink, highWaterMark?: number) {
    super(highWaterMark === undefined ? {} : { highWaterMark });
    this.#sink = sink;
  }

  /** Has any byte (or the head) gone to the receiver? */
  get started(): boolean {
    return this.#started;
  }

  setContentType(contentType: string): void {
    if (this.#writeCalled) {
      throw new JustfnError('INVALID_STREAMING_OPERATION', 'Cannot set content-type, too late.');
    }
    this.#contentType = contentType;
  }

  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    this.#writeCalled = true;
    const data =
      typeof chunk === 'string' || chunk instanceof Uint8Array ? chunk : JSON.stringify(chunk ?? null);
    return super.write(data, encoding as BufferEncoding, callback as (error?: Error | null) => void);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#start();
    this.#sink.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#start();
    this.#sink.end(callback);
  }

  /** Reports a handler error through the sink: only meaningful once the head has gone out. */
  fail(error: ErrorPayload): Promise<void> {
    this.#start();
    return this.#sink.fail(error);
  }

  #start(): void {
    if (this.#started) return;
    this.#writeCalled = true;
    const prelude = this[kPrelude];
    // A sink that refuses the head (it throws) has sent nothing: the stream is not started.
    this.#sink.start(
      prelude ? { contentType: this.#contentType, prelude } : { contentType: this.#contentType },
    );
    this.#started = true;
  }
}
shareInstanceof(ResponseStream, 'ResponseStream');

/**
 * `awslambda.HttpResponseStream`: gives a streamed response its status, headers and cookies.
 *
 * @example
 * export const handler = awslambda.streamifyResponse(async (event, stream) => {
 *   stream = awslambda.HttpResponseStream.from(stream, { statusCode: 201, headers: { 'x-a': '1' } });
 *   stream.end('created');
 * });
 */
// biome-ignore lint/complexity/noStaticOnlyClass: AWS's API is a class with a static `from`.
export class HttpResponseStream {
  static from(stream: ResponseStream, prelude: HttpPrelude): ResponseStream {
    stream.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
    stream[kPrelude] = prelude;
    return stream;
  }
}

/**
 * `streamifyResponse`'s type argument: an event type, or (as before it took events) a handler type. Never
 * inferred from the handler (TypeScript's `NoInfer`, written for versions before 5.4): inferred, it would
 * take any function as its own type, and type no parameter.
 */
type StreamingHandlerFor<T, Resources extends object> = [T][T extends unknown ? 0 : never] extends infer U
  ? U extends (...args: never[]) => unknown
    ? U
    : StreamingHandler<U, Resources>
  : never;

/**
 * `awslambda.streamifyResponse`: marks a handler as streaming, as AWS's runtime reads it. Its parameters
 * are typed from the type argument — the event's type, or a whole handler type — else the event is
 * `unknown`. Async only, as in AWS's runtime (a sync one is `Runtime.MalformedStreamingHandler`).
 *
 * @example
 * export const handler = streamifyResponse<{ q: string }>(async (event, stream) => stream.end(event.q));
 */
export function streamifyResponse<T = unknown, Resources extends object = object>(
  handler: StreamingHandlerFor<T, Resources>,
  options?: { highWaterMark?: number },
): StreamingHandlerFor<T, Resources> {
  const marked = handler as unknown as Record<symbol, unknown>;
  marked[STREAMING_SYMBOL] = 'response';
  if (typeof options?.highWaterMark === 'number') {
    marked[HIGH_WATER_MARK_SYMBOL] = Math.trunc(options.highWaterMark);
  }
  return handler;
}

/** The prelude and its 8-NUL delimiter, as API Gateway and Function URLs read a streamed HTTP response. */
export function encodePrelude(prelude: HttpPrelude): Buffer {
  return Buffer.concat([Buffer.from(JSON.stringify(prelude)), Buffer.alloc(8)]);
}

/** The `awslambda` namespace, for code that imports it from `justfn` rather than reading the global. */
export const awslambda = Object.freeze({ streamifyResponse, HttpResponseStream });

/**
 * Installs the global `awslambda` as AWS's runtime does: a fresh, extensible object, because libraries
 * add to it (`@aws/lambda-invoke-store` its `InvokeStore`: with a frozen one every AWS SDK v3 call threw);
 * with a scope, justfn's own `InvokeStore` on it, which knows each invocation's ids.
 *
 * @example
 * installAwslambda(scope); // globalThis.awslambda.streamifyResponse(...)
 */
export function installAwslambda(scope?: InvocationScope): void {
  const global = globalThis as { awslambda?: unknown };
  const own = {
    streamifyResponse,
    HttpResponseStream,
    ...(scope && { InvokeStore: createInvokeStore(scope) }),
  };
  // Added to one a library made first (`@aws/lambda-invoke-store` creates an empty one when it loads).
  const made = global.awslambda;
  if (typeof made === 'object' && made !== null && Object.isExtensible(made)) Object.assign(made, own);
  else global.awslambda = own;
  if (scope) {
    // AWS's v3 client keeps the current request and tenant ids on these globals, and code written against
    // it reads them (log libraries, SST's runtimes): here they follow the invocation, side by side too.
    currentOnGlobal(Symbol.for('aws.lambda.runtime.requestId'), () => scope.current()?.requestId);
    currentOnGlobal(Symbol.for('aws.lambda.runtime.tenantId'), () => scope.current()?.tenantId);
  }
}

/** `globalThis[key]` reads `read()`; code that assigns it takes it over with its own value. */
function currentOnGlobal(key: symbol, read: () => string | undefined): void {
  Object.defineProperty(globalThis, key, {
    configurable: true,
    get: read,
    set: (value: unknown) =>
      Object.defineProperty(globalThis, key, { value, writable: true, configurable: true }),
  });
}
