import { abortContext, kSettle, type LambdaContext, releaseContext } from './context.js';
import { type ErrorPayload, JustfnError, toErrorPayload } from './errors.js';
import type { LoadedHandler } from './handler-loader.js';
import { ResponseStream, type StreamSink } from './streaming.js';

export type Outcome =
  | { ok: true; value: unknown; streamed?: boolean }
  | {
      ok: false;
      error: ErrorPayload;
      thrown: unknown;
      /** The deadline passed first (HTTP mode enforces it; on Lambda the platform does). */
      timedOut?: boolean;
      /** The error was already delivered inside a started stream (trailers, or an aborted response). */
      streamed?: boolean;
    };

export interface InvokeOptions {
  /** Where a streaming handler's bytes go; required for streaming handlers. */
  openStream?: () => StreamSink;
  /**
   * Settle with a timeout at the deadline instead of waiting for the handler (HTTP and gRPC modes; on
   * Lambda the platform enforces it).
   */
  enforceDeadline?: boolean;
}

/**
 * Runs one invocation: calls the handler in the way its kind needs, waits for its first completion, and
 * turns whatever happened into an {@link Outcome}. Never rejects.
 *
 * @example
 * const outcome = await invoke(handler, { hello: 'world' }, context);
 * if (outcome.ok) send(JSON.stringify(outcome.value ?? null));
 */
export async function invoke(
  handler: LoadedHandler,
  event: unknown,
  context: LambdaContext<object>,
  options: InvokeOptions = {},
): Promise<Outcome> {
  try {
    const run =
      handler.kind === 'streaming'
        ? runStreaming(handler, event, context, options)
        : settle(callHandler(handler, event, context));
    if (!options.enforceDeadline) return await run;
    return await raceDeadline(run, context);
  } finally {
    releaseContext(context);
  }
}

async function settle(run: Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, value: await run };
  } catch (thrown) {
    return failure(thrown);
  }
}

function failure(thrown: unknown, extra?: { timedOut?: boolean; streamed?: boolean }): Outcome {
  return { ok: false, error: toErrorPayload(thrown), thrown, ...extra };
}

/**
 * Calls the handler and adapts every completion style to one promise: a returned value or promise, the
 * callback, and `context.done/succeed/fail`. The first completion wins; later ones are ignored.
 */
export function callHandler(
  handler: LoadedHandler,
  event: unknown,
  context: LambdaContext<object>,
  stream?: ResponseStream,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const succeed = (value: unknown) => {
      if (settled) return;
      settled = true;
      resolve(value);
    };
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    context[kSettle] = { succeed, fail };
    let returned: unknown;
    try {
      if (handler.kind === 'callback') {
        returned = handler.fn(event, context, (error: unknown, result: unknown) =>
          error !== undefined && error !== null ? fail(error) : succeed(result),
        );
      } else if (handler.kind === 'streaming') {
        returned = handler.fn(event, stream, context);
      } else {
        returned = handler.fn(event, context);
      }
    } catch (error) {
      fail(error);
      return;
    }
    if (isThenable(returned)) returned.then(succeed, fail);
    else if (handler.kind === 'promise') succeed(returned);
    else if (handler.kind === 'streaming') {
      fail(new JustfnError('MALFORMED_STREAMING_HANDLER', 'Streaming does not support non-async handlers.'));
    }
  });
}

async function runStreaming(
  handler: LoadedHandler,
  event: unknown,
  context: LambdaContext<object>,
  options: InvokeOptions,
): Promise<Outcome> {
  if (!options.openStream) {
    return failure(new JustfnError('MALFORMED_STREAMING_HANDLER', 'This source cannot stream responses.'));
  }
  const stream = new ResponseStream(options.openStream(), handler.highWaterMark);
  try {
    await callHandler(handler, event, context, stream);
    if (!stream.writableEnded) {
      throw new JustfnError('INVALID_STREAMING_OPERATION', 'Response stream is not finished.');
    }
    if (!stream.writableFinished) await finished(stream);
    return { ok: true, value: undefined, streamed: true };
  } catch (thrown) {
    if (!stream.started) return failure(thrown);
    // Bytes are already out: the error travels in-band and the source must not report it again.
    const outcome = failure(thrown, { streamed: true });
    if (!outcome.ok) await stream.fail(outcome.error).catch(() => {});
    stream.destroy();
    return outcome;
  }
}

function finished(stream: ResponseStream): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('finish', resolve);
    stream.once('error', reject);
  });
}

function raceDeadline(run: Promise<Outcome>, context: LambdaContext<object>): Promise<Outcome> {
  // The budget this invocation had: JUSTFN_TIMEOUT, or less when the caller's deadline (gRPC) is sooner.
  const seconds = Math.ceil(Math.max(context.getRemainingTimeInMillis(), 0) / 10) / 100;
  return new Promise((resolve) => {
    let done = false;
    const timeout = () => {
      if (done) return;
      done = true;
      const error = new JustfnError('TIMEOUT', `Task timed out after ${seconds.toFixed(2)} seconds`);
      abortContext(context, error);
      resolve(failure(error, { timedOut: true }));
    };
    const timer = setTimeout(timeout, Math.max(context.getRemainingTimeInMillis(), 0));
    run.then((outcome) => {
      clearTimeout(timer);
      // A handler that blocked the event loop past its deadline still missed it.
      if (context.getRemainingTimeInMillis() < 0) timeout();
      else if (!done) {
        done = true;
        resolve(outcome);
      }
    });
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
