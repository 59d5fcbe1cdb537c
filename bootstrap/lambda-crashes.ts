import type { LambdaInvocation } from '../adapters/lambda/lambda-source.js';
import type { InvocationError, RuntimeApiClient } from '../adapters/lambda/runtime-api-client.js';
import { errorCatalog, JustfnError, safeString, toErrorPayload } from '../runtime/errors.js';
import type { LambdaLog } from '../runtime/logging/lambda-log.js';
import type { Source } from '../runtime/loop.js';
import { withTimeout } from '../runtime/resources/timing.js';
import type { InvocationScope } from '../runtime/scope.js';
import type { StreamSink } from '../runtime/streaming.js';

/** AWS's exit codes: an uncaught exception (and a failed init), an unhandled rejection (`RICv3 src/index.mjs`). */
export const EXIT_UNCAUGHT_EXCEPTION = 129;
export const EXIT_UNHANDLED_REJECTION = 128;

/** How long a crash waits for its posts (and for answers already on their way) before the process exits. */
const CRASH_REPORT_MS = 2_000;

/**
 * Errors nobody caught, posted where RAPID takes them, then the process exits with AWS's codes: during
 * init to `/init/error`; after a SnapStart restore to `/restore/error`; during an invocation to its
 * `/error`. Init (or the restore) lasts, for this purpose, until the first invocation arrives, as with
 * AWS's client, whose init error handlers stay until then: an error in the turns after init — a socket
 * the module opened failing, a timer it armed — is init's, and RAPID takes it if the first `/next` has
 * not reached it yet (once it has, it refuses it, which is logged). Between invocations nothing is posted.
 *
 * The posts go out on a connection of their own, within {@link CRASH_REPORT_MS}: the loops' connections
 * may each hold a `/next` that will not be answered. An invocation whose answer is already being posted
 * keeps it (the crash waits for it) rather than getting an `/error` after it.
 *
 * On managed instances, where invocations run side by side, an uncaught exception is the invocation's in
 * whose asynchronous context it was thrown; the others in flight end with `Runtime.ExitError`, since the
 * process exits under them, and never with another invocation's error. An unhandled rejection after init
 * fails the invocation whose promise it was (Node reports it in the context the promise was made in, or
 * with --experimental-async-context-frame the one it was rejected in: see drain.ts) and the process
 * goes on, as HTTP mode does: the others run on. One that no invocation in flight owns is logged.
 */
export function reportCrashes(
  connect: () => RuntimeApiClient,
  log: LambdaLog,
  scope: InvocationScope,
  managed: boolean,
) {
  /** Invocations received whose answer has not started to go out. */
  const current = new Set<LambdaInvocation>();
  /** The streams of those whose head is out: a crash ends them with its error in the trailers. */
  const streams = new Map<LambdaInvocation, StreamSink>();
  /** Answers being posted, and who waits for the last of them (a crash): a count, nothing per invocation. */
  let answering = 0;
  let answered: (() => void) | undefined;
  /** Failed before their handler ended (an unhandled rejection of theirs): their loop's answer is not posted. */
  const failedEarly = new WeakSet<LambdaInvocation>();
  /**
   * The loop each invocation came from: one that fails early is answered on its loop's connection, which
   * is idle while its handler runs (another loop's may hold a `/next`).
   */
  const loopOf = new WeakMap<LambdaInvocation, Source<LambdaInvocation>>();
  /** Who waits for the invocations in flight to be answered (a SIGTERM on a managed instance). */
  let quiet: (() => void) | undefined;
  const isQuiet = () => current.size === 0 && answering === 0;
  // On managed instances an invocation in flight holds the event loop open: one awaiting a promise that
  // never settles, with nothing else pending, would otherwise let the process exit 0 in the middle of it
  // (Runtime.ExitError). Its deadline ends it, as AWS's v4 client has it there. One invocation at a time
  // is ended when the loop drains instead (endWhenDrained). One timer, made once, ref'd and unref'd.
  const holding = managed ? setInterval(() => {}, 2 ** 30).unref() : undefined;
  let phase: 'init' | 'restore' | 'running' = 'init';
  let crashed = false;
  let crashCode: number | undefined;
  let closing = false;
  const crash = async (label: string, error: unknown, code: number): Promise<never> => {
    log.logError(label, error);
    // A second error while the first is being reported: logged, the first one's report goes on.
    if (crashed) return stalled();
    crashed = true;
    crashCode = code;
    const payload = toErrorPayload(error);
    const api = connect();
    const culprit = managed ? scope.current()?.requestId : undefined;
    const posts: Promise<unknown>[] =
      answering === 0 ? [] : [new Promise<void>((resolve) => (answered = resolve))];
    if (phase === 'init') posts.push(api.postInitError(payload));
    if (phase === 'restore') posts.push(api.postRestoreError(payload));
    for (const invocation of current) {
      const { info, invocationId } = invocation;
      const own = !managed || info.requestId === culprit;
      const failure = own ? { error: payload, thrown: error } : exitedUnder(code);
      // A streamed response already under way is the invocation's answer: it ends with the error.
      const stream = streams.get(invocation);
      posts.push(stream ? stream.fail(failure.error) : api.postError(info.requestId, failure, invocationId));
    }
    try {
      await withTimeout(
        () => Promise.all(posts),
        CRASH_REPORT_MS,
        undefined,
        () => new Error(`no answer within ${CRASH_REPORT_MS} ms`),
      );
    } catch (failure) {
      log.logError('Runtime API Error', failure);
    } finally {
      process.exit(code);
    }
  };
  process.on(
    'uncaughtException',
    (error) => void crash('Uncaught Exception', error, EXIT_UNCAUGHT_EXCEPTION),
  );
  const failed = (error: unknown) =>
    crash(phase === 'restore' ? 'Restore Error' : 'Init Error', error, EXIT_UNCAUGHT_EXCEPTION);
  // The event loop ran dry during init: the handler module's top-level await, a SnapStart hook or a
  // resource awaits a promise nothing can settle. Said so, rather than a silent exit 0.
  // A turn later, so that a more precise failure the same moment sets off goes first: the handler
  // loader's own (`Runtime.ImportModuleError`, naming the module whose top-level await is stuck).
  const neverFinished = () =>
    setImmediate(() => {
      if (crashed) return;
      void failed(
        new JustfnError(
          'EXIT',
          `Runtime exited with error: ${phase} never finished: it awaits a promise that nothing is left to settle`,
        ),
      );
    });
  process.once('beforeExit', neverFinished);
  process.on('unhandledRejection', (reason, promise) => {
    const error = Object.assign(new JustfnError('UNHANDLED_REJECTION', safeString(reason)), {
      reason,
      promise,
    });
    if (closing) log.logError('Unhandled Promise Rejection', error);
    else if (managed && phase === 'running') {
      log.logError('Unhandled Promise Rejection', error);
      // Node reports it in the context of the promise that nothing handled (made or rejected in, as in
      // drain.ts): that invocation fails.
      const culprit = scope.current()?.requestId;
      const invocation = [...current].find((one) => one.info.requestId === culprit);
      if (invocation) {
        failedEarly.add(invocation);
        const stream = streams.get(invocation);
        const failure = { error: toErrorPayload(error), thrown: error };
        if (stream) void stream.fail(failure.error);
        else void loopOf.get(invocation)?.complete(invocation, { ok: false, ...failure });
      }
    } else void crash('Unhandled Promise Rejection', error, EXIT_UNHANDLED_REJECTION);
  });
  return {
    initFailed: failed,
    /** `/restore/next` answered: the snapshot is restored; what fails now fails the restore. */
    restored: () => {
      phase = 'restore';
    },
    /** Resolves when the loop may ask for the first invocation; never, once a crash is being reported. */
    async initialised(): Promise<void> {
      // Node reports a rejection nobody handled only once the microtasks run dry, which is after this, init's
      // last step, runs: one turn of the event loop first lets one that init or an after-restore hook left
      // behind fail init or the restore, as with AWS's client, whose first /next waits for a setImmediate.
      await new Promise((resolve) => setImmediate(resolve));
      if (crashed) return stalled();
      process.off('beforeExit', neverFinished);
    },
    /** SIGTERM came: what is rejected while the hooks run is logged, not a crash of exit 128. */
    shuttingDown: () => {
      closing = true;
    },
    /**
     * The source, with its invocation in flight known until its answer goes out. Once a crash is being
     * reported, nothing more goes out but the report: no answer after its `/error`, no new `/next`.
     */
    track(source: Source<LambdaInvocation>): Source<LambdaInvocation> {
      const tracking: Source<LambdaInvocation> = {
        next: async () => {
          if (crashed) return stalled();
          const invocation = await source.next();
          if (crashed) {
            // Handed out while the crash is being reported: it cannot run; RAPID is told so.
            if (invocation) {
              const failure = exitedUnder(crashCode!);
              const exited = new JustfnError('EXIT', failure.error.errorMessage);
              scope.run(invocation.info, () => log.logError('Invoke Error', exited));
              void connect()
                .postError(invocation.info.requestId, failure, invocation.invocationId)
                .catch(() => {});
            }
            return stalled();
          }
          if (invocation) {
            current.add(invocation);
            loopOf.set(invocation, tracking);
            holding?.ref();
          }
          return invocation;
        },
        complete: async (invocation, outcome) => {
          if (crashed) return stalled();
          // Its loop's answer after it failed early: the failure was its answer.
          if (!current.delete(invocation) && failedEarly.has(invocation)) return;
          streams.delete(invocation);
          answering += 1;
          try {
            await source.complete(invocation, outcome);
          } finally {
            answering -= 1;
            if (answering === 0) answered?.();
            if (current.size === 0) holding?.unref();
            if (isQuiet()) quiet?.();
          }
        },
        openStream: (invocation) => {
          const sink = source.openStream!(invocation);
          return {
            ...sink,
            start(head) {
              streams.set(invocation, sink);
              sink.start(head);
            },
          };
        },
      };
      return tracking;
    },
    /**
     * On a managed instance, resolves once no invocation is in flight and no answer is on its way. One at a
     * time, an invocation in flight at SIGTERM is one Lambda already gave up on (it timed out): at once.
     */
    settled: (): Promise<void> =>
      !managed || isQuiet() ? Promise.resolve() : new Promise<void>((resolve) => (quiet = resolve)),
    /** The request ids of the invocations in flight. */
    inFlight: (): string[] => [...current].map((invocation) => invocation.info.requestId),
    /** The first `/next` answered (an invocation, or one it could not read): init is over. */
    received: () => {
      phase = 'running';
    },
    /** The exit code of the crash being reported, if one is. */
    crashCode: () => crashCode,
  };
}

const stalled = () => new Promise<never>(() => {});

/** What an invocation in flight gets when another one's uncaught exception ends the process. */
function exitedUnder(code: number): InvocationError {
  const message = `Runtime exited with error: exit status ${code} (an uncaught exception outside this invocation)`;
  // No trace: the stack would be the runtime's own frames, nothing of the function's.
  return {
    error: { errorType: errorCatalog.EXIT.type, errorMessage: message, trace: [] },
    thrown: undefined,
  };
}

export type CrashReporter = ReturnType<typeof reportCrashes>;
