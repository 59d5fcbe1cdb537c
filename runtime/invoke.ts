import { isAsyncFunction } from 'node:util/types';
import { abortContext, kSettle, type LambdaContext, pastDeadline, releaseContext } from './context.js';
import { createDeadlines } from './deadlines.js';
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
      /**
       * Timed out while the handler still runs (it ignored `context.signal`): settles when the handler
       * does. Its slot stays taken until then, so `JUSTFN_CONCURRENCY` bounds what runs, overruns too.
       */
      running?: Promise<void>;
    };

const deadlines = createDeadlines();

export interface InvokeOptions {
  /** Where a streaming handler's bytes go; required for streaming handlers. */
  openStream?: () => StreamSink;
  /**
   * Settle with a timeout at the deadline instead of waiting for the handler (HTTP and gRPC modes; on
   * Lambda the platform enforces it).
   */
  enforceDeadline?: boolean;
  /**
   * Runs what the deadline does (the context's signal aborts, the answer is written) in the invocation's
   * own scope: the deadline's timer is armed in a batch, in whichever invocation began the batch, and the
   * handler's abort listeners would log under that one's request id.
   */
  inScope?: (fn: () => void) => void;
  /** The budget a timeout names, when it is more than what was left as the handler started (queued). */
  budgetMs?: number | undefined;
}

/**
 * Runs one invocation: calls the handler in the way its kind needs, waits for its first completion, and
 * turns whatever happened into an {@link Outcome}. Never rejects.
 *
 * @example
 * const outcome = await invoke(handler, { hello: 'world' }, context);
 * if (outcome.ok) send(JSON.stringify(outcome.value ?? null));
 */
export function invoke(
  handler: LoadedHandler,
  event: unknown,
  context: LambdaContext<object>,
  options: InvokeOptions = {},
): Promise<Outcome> {
  return new Promise((resolve) =>
    invokeThen(handler, event, context, options, (outcome) => {
      releaseContext(context);
      resolve(outcome);
    }),
  );
}

/**
 * {@link invoke} with a callback: `done` gets the outcome once, possibly before this returns (a handler
 * that returns synchronously). The server modes run every request through it: with AsyncLocalStorage on,
 * each promise costs an async hook, so the hot path makes none besides the handler's own and one `then`.
 * The caller releases the context (`releaseContext`) once the invocation is over, which for a gRPC server
 * stream is when its last message is out, not when the handler returned the messages: its deadline, its
 * caller's cancel and the shutdown must still reach `context.signal` while the stream runs.
 */
export function invokeThen(
  handler: LoadedHandler,
  event: unknown,
  context: LambdaContext<object>,
  options: InvokeOptions,
  done: (outcome: Outcome) => void,
): void {
  // The budget this invocation had: JUSTFN_TIMEOUT, or less when the caller's deadline (gRPC) is sooner.
  const budget = Math.max(context.getRemainingTimeInMillis(), 0);
  let over = false;
  let cancelDeadline: (() => void) | undefined;
  let handlerEnded: (() => void) | undefined;
  const end = (outcome: Outcome) => {
    if (over) {
      // The handler settled after its deadline answered for it.
      handlerEnded?.();
      handlerEnded = undefined;
      return;
    }
    over = true;
    cancelDeadline?.();
    done(outcome);
  };
  const timeOut = (message?: string, running = false) => {
    const error = message ? new JustfnError('TIMEOUT', message) : timeoutError(options.budgetMs ?? budget);
    abortContext(context, error);
    const outcome = failure(error, { timedOut: true });
    if (running && !over && !outcome.ok) {
      outcome.running = new Promise<void>((resolve) => {
        handlerEnded = resolve;
      });
    }
    end(outcome);
  };
  let settle = end;
  if (options.enforceDeadline && budget === 0) {
    // Its deadline passed while it waited for a slot: the caller has its answer (or is gone), so the
    // handler must not run and do what the caller was told did not happen.
    timeOut('Task timed out before it started: its deadline passed while it waited');
    return;
  }
  if (options.enforceDeadline) {
    const { inScope } = options;
    cancelDeadline = deadlines.watch(
      budget,
      inScope ? () => inScope(() => timeOut(undefined, true)) : () => timeOut(undefined, true),
    );
    // A handler that blocked the event loop past its deadline still missed it, and so did one that
    // answered because its signal aborted at the deadline.
    settle = (outcome) => (pastDeadline(context) ? timeOut() : end(outcome));
  }
  if (handler.kind === 'streaming') {
    void runStreaming(handler, event, context, options).then(settle);
    return;
  }
  callHandlerThen(
    handler,
    event,
    context,
    undefined,
    (value) => settle({ ok: true, value }),
    (thrown) => settle(failure(thrown)),
  );
}

/** A timeout, named as AWS's runtime names it: by the time the invocation was given. */
export function timeoutError(budgetMs: number): JustfnError {
  return new JustfnError(
    'TIMEOUT',
    `Task timed out after ${(Math.ceil(budgetMs / 10) / 100).toFixed(2)} seconds`,
  );
}

/**
 * The event loop ran dry while the handler had not finished: nothing is left that could finish it (a
 * callback never called, a promise nothing will settle). What AWS's v3 client (nodejs18.x–22.x) does from
 * its `beforeExit` listener: an `async` handler fails with `Runtime.NodeJsExit`, any other succeeds with
 * `null`. A stream still open is ended with the same error. Nothing happens once the handler finished.
 */
export function endDrained(handler: LoadedHandler, context: LambdaContext<object>): void {
  const error = new JustfnError(
    'NODEJS_EXIT',
    'The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a Promise that was never settled. For more information, see https://nodejs.org/docs/latest/api/process.html#exit-codes',
  );
  if (isAsyncFunction(handler.fn)) context[kSettle]?.fail(error);
  else context[kSettle]?.succeed(null);
  // A streaming handler that returned waits for its stream to end, or for its signal.
  if (handler.kind === 'streaming') abortContext(context, error);
}

function lateCompletion(): void {
  console.warn(
    "context.done/succeed/fail was called after the handler returned: justfn takes a sync handler's return value (here undefined, posted as null) as its result. Make the handler async and return the result, or take the callback argument.",
  );
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
  return new Promise((resolve, reject) => callHandlerThen(handler, event, context, stream, resolve, reject));
}

/** {@link callHandler} with callbacks: exactly one of them is called, once. */
function callHandlerThen(
  handler: LoadedHandler,
  event: unknown,
  context: LambdaContext<object>,
  stream: ResponseStream | undefined,
  onValue: (value: unknown) => void,
  onError: (error: unknown) => void,
): void {
  let settled = false;
  const succeed = (value: unknown) => {
    if (settled) return;
    settled = true;
    onValue(value);
  };
  const fail = (error: unknown) => {
    if (settled) return;
    settled = true;
    onError(error);
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
  else if (handler.kind === 'promise') {
    // AWS's v3 client would wait for a later context.done/succeed/fail; justfn takes the return value.
    // Say so where such a late call comes, rather than drop its result without a word.
    if (returned === undefined && !settled)
      context[kSettle] = { succeed: lateCompletion, fail: lateCompletion };
    succeed(returned);
  } else if (handler.kind === 'streaming') {
    fail(new JustfnError('MALFORMED_STREAMING_HANDLER', 'Streaming does not support non-async handlers.'));
  }
}

/**
 * A streaming invocation. As AWS's client does, the response is what the stream carries when it ends,
 * which may be after the handler returned (`readable.pipe(responseStream)` left running): the outcome
 * waits for the stream, up to the deadline, where a stream still open is an error (AWS's client would hang
 * there, and post `null` once the event loop drains). The stream is watched from the start, so a handler's
 * `responseStream.destroy(error)` fails the invocation instead of the process. A handler that fails before
 * the first byte gets a plain error, and its stream is closed: nothing it writes later goes out.
 */
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
  const ended = new Promise<void>((resolve, reject) => {
    stream.once('finish', resolve);
    stream.once('error', reject);
    // `destroy()` without an error emits neither: only 'close'.
    stream.once('close', () =>
      reject(
        new JustfnError('INVALID_STREAMING_OPERATION', 'Response stream was destroyed before it ended.'),
      ),
    );
  });
  ended.catch(() => {});
  try {
    const value = await callHandler(handler, event, context, stream);
    // AWS's client says so too: a streaming handler's answer is its stream.
    if (value !== undefined) console.warn('Streaming handlers ignore return values.');
    if (!stream.writableFinished) await untilEnded(ended, context.signal);
    return { ok: true, value: undefined, streamed: true };
  } catch (thrown) {
    if (!stream.started) {
      stream.destroy();
      return failure(thrown);
    }
    // Bytes are already out: the error travels in-band and the source must not report it again.
    const outcome = failure(thrown, { streamed: true });
    if (!outcome.ok) await stream.fail(outcome.error).catch(() => {});
    stream.destroy();
    return outcome;
  }
}

/** The stream's end, or the deadline (or shutdown) while it is still open. */
function untilEnded(ended: Promise<void>, signal: AbortSignal): Promise<void> {
  const notFinished = () =>
    new JustfnError('INVALID_STREAMING_OPERATION', 'Response stream is not finished.', {
      cause: signal.reason,
    });
  if (signal.aborted) return Promise.reject(notFinished());
  return new Promise((resolve, reject) => {
    const abort = () => reject(notFinished());
    signal.addEventListener('abort', abort, { once: true });
    ended.then(
      () => {
        signal.removeEventListener('abort', abort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(error);
      },
    );
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
