import {
  cancelContext,
  type FunctionInfo,
  type InvocationInfo,
  LambdaContext,
  releaseContext,
} from './context.js';
import type { LoadedHandler } from './handler-loader.js';
import { type InvokeOptions, invoke, invokeThen, type Outcome } from './invoke.js';
import type { InvocationScope } from './scope.js';
import type { StreamSink } from './streaming.js';

/** One unit of work, whichever source it came from. */
export interface Invocation {
  event: unknown;
  info: InvocationInfo;
}

/**
 * Where invocations come from and where their outcomes go, pulled by {@link runLoop}: the Lambda Runtime
 * API (Lambda mode, the build's warm-up). `next()` resolves `undefined` when the source is done (drained,
 * closed). The server modes' requests and calls are pushed to a {@link createRunner} instead.
 */
export interface Source<I extends Invocation = Invocation> {
  next(): Promise<I | undefined>;
  complete(invocation: I, outcome: Outcome): Promise<void>;
  /** A sink for a streaming handler's response, when the source can stream. */
  openStream?(invocation: I): StreamSink;
}

/** The handler, and what each of its contexts is made of: what {@link runLoop} and {@link createRunner} share. */
export interface HandlerOptions {
  handler: LoadedHandler;
  functionInfo: FunctionInfo;
  scope: InvocationScope;
  /** `context.resources`. */
  resources?: object;
  /** Aborts every `context.signal` when the process shuts down. */
  shutdown?: AbortSignal;
}

/** {@link runLoop}'s: Lambda mode's, and the warm-up's. */
export interface LoopOptions extends HandlerOptions {
  /**
   * Runs around each invocation: the resources are re-validated before it after an idle gap (a Lambda
   * thaw), and marked used after it.
   */
  freshness?: { before(): Promise<unknown>; after(): void };
  /**
   * Told the context of the invocation running, and `undefined` once it has its outcome: Lambda mode ends
   * an invocation the event loop drains under, as AWS's client does (`endDrained`).
   */
  current?: (context: LambdaContext<object> | undefined) => void;
}

/** {@link createRunner}'s: the server modes'. */
export interface RunnerOptions extends HandlerOptions {
  /** Told when a handler runs on past its deadline (holding its slot), and when it ends. */
  overruns?: { begin(): void; end(): void };
}

/**
 * The loop: take the next invocation, run the handler, hand the outcome back. Nothing else: one plain
 * `for` over `await`, for every {@link Source}.
 *
 * @example
 * await runLoop(createLambdaSource({ api, log }), { handler, functionInfo, scope });
 */
export async function runLoop<I extends Invocation>(source: Source<I>, options: LoopOptions): Promise<void> {
  const resources = options.resources ?? {};
  for (;;) {
    const invocation = await source.next();
    if (invocation === undefined) return;
    await options.scope.run(invocation.info, () => runOne(source, invocation, options, resources));
  }
}

async function runOne<I extends Invocation>(
  source: Source<I>,
  invocation: I,
  options: LoopOptions,
  resources: object,
): Promise<void> {
  if (options.freshness) await options.freshness.before();
  const context = new LambdaContext(invocation.info, options.functionInfo, resources, options.shutdown);
  options.current?.(context);
  const outcome = await invoke(
    options.handler,
    invocation.event,
    context,
    source.openStream ? { openStream: () => source.openStream!(invocation) } : {},
  );
  options.current?.(undefined);
  options.freshness?.after();
  await source.complete(invocation, outcome);
}

/** An invocation that answers its own caller (an HTTP request, a gRPC call), handed to a {@link Runner}. */
export interface QueuedInvocation extends Invocation {
  /**
   * May return a promise (a gRPC server stream): the invocation (its slot, and its context's deadline,
   * cancel and shutdown) lasts until it settles. Called again by the drain to cut such an answer short.
   */
  respond(outcome: Outcome): void | Promise<void>;
  /** Where a streaming handler's bytes go, when the caller can take a stream. */
  openStream?(): StreamSink;
  /** Whether the caller went away while it waited: the queue then drops it instead of running it. */
  callerGone?(): boolean;
  /**
   * Told as the handler starts, with what aborts its `context.signal` should the caller go away then,
   * the context, whose deadline an answer that outlives the handler (a gRPC stream) is held to, and what
   * to tell when such an answer was cut at its deadline while the handler's code runs on (`running`):
   * its slot is held by an overrun, as a handler's past its deadline.
   */
  started?(
    cancel: (reason: unknown) => void,
    context: LambdaContext<object>,
    overran: ((running: Promise<unknown>) => void) | undefined,
  ): void;
  /**
   * The time it was given on arrival (`JUSTFN_TIMEOUT`, or a gRPC caller's sooner deadline), which a
   * timeout names, as AWS names the function's timeout: not what was left when a queued one started.
   */
  budgetMs?: number;
}

/** Runs one pushed invocation to its answer; `done` once the answer is out. */
export type Runner<I extends QueuedInvocation = QueuedInvocation> = (invocation: I, done: () => void) => void;

/**
 * The loop for sources that push work instead of being pulled (HTTP requests, gRPC calls): the same
 * steps as {@link runLoop} — a context, the handler, the answer — without a promise per step, since the
 * server modes run under AsyncLocalStorage, where every promise costs an async hook. An invocation is
 * answered as timed out at its deadline, without waiting for the handler: the server modes answer their
 * callers themselves, where on Lambda the platform does.
 *
 * @example
 * const run = createRunner({ handler, functionInfo, scope });
 * run(invocation, () => slots.release());
 */
export function createRunner<I extends QueuedInvocation>(options: RunnerOptions): Runner<I> {
  const resources = options.resources ?? {};
  const { handler, functionInfo, scope, shutdown, overruns } = options;
  const overran =
    overruns &&
    ((running: Promise<unknown>) => {
      overruns.begin();
      void running.then(overruns.end);
    });
  const go = (invocation: I, done: () => void) => {
    const context = new LambdaContext(invocation.info, functionInfo, resources, shutdown);
    // The deadline's timer and a caller's cancel come from outside the invocation: what they set off (abort
    // listeners among it) runs in its scope, so its lines carry its request id.
    const inScope = (fn: () => void) => scope.run(invocation.info, fn);
    invocation.started?.((reason) => inScope(() => cancelContext(context, reason)), context, overran);
    const invokeOptions: InvokeOptions = {
      enforceDeadline: true,
      inScope,
      budgetMs: invocation.budgetMs,
    };
    if (invocation.openStream && handler.kind === 'streaming') {
      invokeOptions.openStream = () => invocation.openStream!();
    }
    invokeThen(handler, invocation.event, context, invokeOptions, (outcome) => {
      let waiting = false;
      try {
        const answering = invocation.respond(outcome);
        // A handler past its deadline that still runs keeps its slot until it ends.
        const running = outcome.ok ? undefined : outcome.running;
        if (running) overran?.(running);
        // The invocation is over once its answer is: a gRPC stream's goes on after the handler returned,
        // and its deadline, its caller's cancel and the shutdown must reach `context.signal` until it ends.
        if (answering || running) {
          waiting = true;
          const over = () => {
            releaseContext(context);
            done();
          };
          Promise.all([answering, running]).then(over, over);
        }
      } finally {
        if (!waiting) {
          releaseContext(context);
          done();
        }
      }
    });
  };
  return (invocation, done) => scope.run(invocation.info, () => go(invocation, done));
}
