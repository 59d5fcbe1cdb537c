import { AsyncResource } from 'node:async_hooks';
import { type ErrorPayload, JustfnError, safeString, toErrorPayload } from '../runtime/errors.js';
import { runShutdownHooks } from '../runtime/hooks.js';
import type { QueuedInvocation } from '../runtime/loop.js';
import type { QueueSource } from '../runtime/queue-source.js';
import { withTimeout } from '../runtime/resources/timing.js';
import type { InvocationScope } from '../runtime/scope.js';
import type { RuntimeLog } from './runtime-log.js';

export interface DrainPlan<I extends QueuedInvocation> {
  log: RuntimeLog;
  source: QueueSource<I>;
  /** Which invocation the code running now belongs to: an uncaught error is laid at its door. */
  scope: InvocationScope;
  /**
   * What becomes of the accepted invocations when a handler calls `process.exit`, as the log says it:
   * HTTP/1.1 answers leave in the exit listener; HTTP/2 frames need turns of the event loop, which an
   * exiting process has no more of.
   */
  onExit: string;
  /** Seconds to let accepted work finish. */
  drainTimeout: number;
  /** Aborts every `context.signal` once the drain timeout passed. */
  shutdown: AbortController;
  /** Readiness off, no new connections. */
  stopAccepting(): void;
  /**
   * Answers an invocation still running or queued at the drain timeout, or when the process exits;
   * `running` tells which (a queued one never ran: its caller may safely retry it).
   */
  abandon(invocation: I, error: JustfnError, running: boolean): void;
  /** After the drain: close connections, resources, metrics. */
  cleanUp(): Promise<void>;
  /** Resolves when the instance cannot serve for good: drain, then exit 1. */
  fatal?: Promise<void>;
}

/**
 * The payload of an error of the runtime's own (a drain, an exit): no trace, since where justfn raised it
 * says nothing to the caller or the log reader.
 */
export function ownErrorPayload(error: JustfnError): ErrorPayload {
  return { errorType: error.name, errorMessage: error.message, trace: [] };
}

/** The longest the `onShutdown` hooks get after a drain. */
const SHUTDOWN_HOOKS_SECONDS = 3;

/** The function's `onShutdown` hooks, with the resources still open; a hook that hangs is given up on after `ms`. */
async function shutdownHooks(log: RuntimeLog, ms: number): Promise<void> {
  await withTimeout(
    () => runShutdownHooks((error) => log.error({ err: error }, 'a shutdown hook failed')),
    ms,
    undefined,
    () => new Error('late'),
  ).catch(() => log.warn({ ms }, 'shutdown hooks not done in time'));
}

/**
 * SIGTERM and SIGINT drain: stop accepting, finish every accepted invocation (past the drain timeout,
 * answer what is left), run the `onShutdown` hooks, clean up, exit 0. A second signal exits at once. An
 * uncaught exception is logged and drains too, then exits 1 (one during a drain leaves the drain to
 * finish); an unhandled rejection is logged and the server goes on. Either, thrown from an invocation's
 * work (its async context), fails that invocation at once, as a handler's throw would: a handler that
 * died with an uncaught exception will not finish, so its slot goes to the next waiting invocation. A
 * handler that calls `process.exit` ends the instance at once, as on Lambda: what it had accepted is
 * answered as the process goes (`Runtime.ExitError`), not left to a reset connection.
 */
export function drainOnSignals<I extends QueuedInvocation>(plan: DrainPlan<I>): void {
  const { log, source, scope } = plan;
  // The invocation the code running now belongs to, while it is still unanswered.
  const culprit = (): I | undefined => {
    const requestId = scope.current()?.requestId;
    if (requestId === undefined) return undefined;
    return source.outstanding().find((invocation) => invocation.info.requestId === requestId);
  };
  const fail = (invocation: I, error: unknown) =>
    void invocation.respond({ ok: false, error: toErrorPayload(error), thrown: error });
  // The drain belongs to no invocation, though an uncaught exception starts it from inside the one that
  // threw: run there, its lines (and the shutdown hooks') would carry that invocation's request id.
  const outside = new AsyncResource('justfn.drain');
  let draining = false;
  // The drain's exit code: 0 for a signal, 1 once anything failed (an uncaught exception, a resource).
  let code = 0;
  // Whether a signal came: a second one exits at once, one during a crash's drain is the first.
  let signalled = false;
  const drain = async (reason: string, exitCode: number) => {
    // A process whose event loop empties during the drain (the server closed, a handler waiting on nothing)
    // ends with this code too, not with one a handler left in process.exitCode.
    code = Math.max(code, exitCode);
    process.exitCode = code;
    if (draining) return;
    draining = true;
    log.info(
      { reason, inFlight: source.running(), queued: source.queued() },
      'draining: finishing accepted requests',
    );
    plan.stopAccepting();
    await source.drain(plan.drainTimeout * 1000, (invocation, running) => {
      const error = new JustfnError('DRAINING', 'The drain timeout passed');
      plan.shutdown.abort(error);
      plan.abandon(invocation, error, running);
    });
    // Within the margin the generated manifests give past the drain (terminationGracePeriodSeconds).
    await shutdownHooks(log, Math.min(plan.drainTimeout, SHUTDOWN_HOOKS_SECONDS) * 1000);
    await plan.cleanUp();
    log.info({ reason }, 'drained: exiting');
    process.exit(code);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ reason: signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    void drain(signal, 0);
  };
  process.once('exit', (code) => {
    // An 'exit' listener cannot wait: each answer is written now, and small ones leave before the process.
    const left = source.outstanding();
    if (left.length === 0) return;
    const error = new JustfnError('EXIT', `Runtime exited with error: exit status ${code}`);
    log.fatal({ code, inFlight: left.length }, `${error.message}: ${plan.onExit}`);
    for (const invocation of left) plan.abandon(invocation, error, source.isRunning(invocation));
  });
  void plan.fatal?.then(() => drain('a resource failed for good', 1));
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('uncaughtException', (error) => {
    // One during a drain does not start another: the line says what follows.
    log.fatal(
      { err: error },
      draining
        ? 'Uncaught Exception: the drain goes on, then exits 1'
        : 'Uncaught Exception: draining, then exiting',
    );
    const invocation = culprit();
    if (invocation) {
      fail(invocation, error);
      source.release(invocation);
    }
    outside.runInAsyncScope(() => void drain('uncaughtException', 1));
  });
  process.on('unhandledRejection', (reason, promise) => {
    log.error(
      { err: reason instanceof Error ? reason : new Error(safeString(reason)) },
      'Unhandled Promise Rejection',
    );
    // Node runs this in an async context of the promise that nothing handled: the one it was made in with
    // async hooks, the one it was rejected in with --experimental-async-context-frame (the image's Node 22,
    // Node 24's default); the same invocation's, unless code of another settles it. Its invocation fails,
    // as on Lambda (where the whole process would go); its handler keeps its slot until it ends, as one
    // that overran its deadline does.
    const invocation = culprit();
    if (invocation) {
      const error = new JustfnError('UNHANDLED_REJECTION', safeString(reason));
      fail(invocation, Object.assign(error, { reason, promise }));
    }
  });
}
