import {
  createLambdaSource,
  type LambdaInvocation,
  RuntimeApiFatalError,
} from '../adapters/lambda/lambda-source.js';
import {
  createRuntimeApiClient,
  type InvocationError,
  type RuntimeApiClient,
} from '../adapters/lambda/runtime-api-client.js';
import type { LambdaContext } from '../runtime/context.js';
import { errorCatalog, JustfnError, safeString, toErrorPayload } from '../runtime/errors.js';
import { type LoadedHandler, loadHandler } from '../runtime/handler-loader.js';
import { hasShutdownHooks, runShutdownHooks, runSnapshotHooks } from '../runtime/hooks.js';
import { endDrained } from '../runtime/invoke.js';
import {
  createLambdaLog,
  type LambdaLevel,
  type LambdaLog,
  patchConsole,
  resourceLog,
} from '../runtime/logging/lambda-log.js';
import { type LoopOptions, runLoop, type Source } from '../runtime/loop.js';
import type { ResourceRegistry } from '../runtime/resources/resource-registry.js';
import { withTimeout } from '../runtime/resources/timing.js';
import { createConcurrentScope, createSequentialScope, type InvocationScope } from '../runtime/scope.js';
import { installAwslambda, type StreamSink } from '../runtime/streaming.js';
import { createIdleCollector, precompileHttpParser, tuneV8 } from './memory.js';
import {
  createRegistry,
  functionInfoOf,
  maskSecretsOf,
  resolveService,
  type Service,
  type ServiceStart,
} from './service.js';
import { stdoutWriter } from './stdout.js';
import { VERSION } from './version.js';

/** AWS's exit codes: an uncaught exception (and a failed init), an unhandled rejection (`RICv3 src/index.mjs`). */
export const EXIT_UNCAUGHT_EXCEPTION = 129;
export const EXIT_UNHANDLED_REJECTION = 128;
/** The Runtime API failed in a way the process cannot go on from. */
export const EXIT_RUNTIME_API = 1;

/**
 * Lambda mode: the console speaks Lambda's log formats; `justfn.yaml` is read, the handler loaded and
 * the resources opened and warmed (or `/init/error` is posted and the process exits); with SnapStart
 * the restore protocol runs; then the loop runs — one, or `AWS_LAMBDA_MAX_CONCURRENCY` of them on
 * Lambda Managed Instances — until the Runtime API goes away.
 */
export async function startLambda(start: ServiceStart): Promise<never> {
  const managed = start.options.maxConcurrency !== undefined;
  const { verbose } = start.options;
  const scope = managed ? createConcurrentScope() : createSequentialScope();
  const log = createLambdaLog({
    format: start.options.logFormat ?? 'Text',
    level: (start.options.logLevel?.toUpperCase() ?? 'TRACE') as LambdaLevel,
    scope,
    telemetryFd: start.options.telemetryFd,
    stdout: stdoutWriter(),
  });
  patchConsole(log);
  if (!start.options.noGlobalAwslambda) installAwslambda(scope);

  const clientOptions = { userAgent: `justfn/${VERSION}`, workingDirectory: process.cwd() };
  const connect = () => createRuntimeApiClient(start.options.runtimeApi!, clientOptions);
  const api = connect();
  const crashes = reportCrashes(connect, log, scope, managed);

  let service: Service;
  let handler: LoadedHandler;
  let registry: ResourceRegistry;
  try {
    service = await resolveService(start);
    maskSecretsOf(service);
    // Loads the code of the resource kinds declared, which opens nothing yet: before tuneV8, because the
    // flags it sets make V8 refuse every code cache compiled after them (lambda.cjs's, the config's and
    // each kind's are made under Node's defaults).
    registry = await createRegistry(service, resourceLog(log));
    tuneV8();
    precompileHttpParser();
    handler = await loadHandler(service.handler, {
      taskRoot: service.taskRoot,
      importModule: start.importModule,
    });
    if (verbose >= 1)
      log.info(`RUNTIME LOADER ${service.handler}: a ${handler.kind} handler in ${service.taskRoot}`);
    await registry.open();
    if (verbose >= 1)
      log.info(`RUNTIME INIT done: ${Math.round(process.uptime() * 1000)} ms after the process started`);
    if (service.options.initializationType === 'snap-start') await snapStart(api, registry, crashes.restored);
  } catch (error) {
    // The Runtime API itself failed (`/restore/next`): nothing to post an error to.
    if (error instanceof RuntimeApiFatalError) return exitOnRuntimeApi(log, error);
    return crashes.initFailed(error);
  }
  const { options } = service;
  const declared = Object.keys(service.config?.config.resources ?? {}).length > 0;
  const sigterm = options.lambdaSigterm === 'auto' ? declared || hasShutdownHooks() : options.lambdaSigterm;
  // SnapStart restores a snapshot whose extension connection is gone: no SIGTERM there.
  const shutdown = new AbortController();
  if (sigterm && options.initializationType !== 'snap-start') {
    closeOnSigterm(registry, log, shutdown, crashes);
    await api.requestSigterm().catch((error: unknown) => {
      log.warn(`no SIGTERM at shutdown: ${error instanceof Error ? error.message : safeString(error)}`);
    });
  }
  await crashes.initialised();

  const loop: LoopOptions = {
    handler,
    functionInfo: functionInfoOf(options),
    scope,
    resources: registry.resources,
    shutdown: shutdown.signal,
    ...(!managed && { current: endWhenDrained(handler) }),
    ...(declared && {
      freshness: {
        before: () => registry.ensureFresh(options.revalidateAfter * 1000),
        after: () => registry.markUsed(),
      },
    }),
  };
  const loops = managed ? (options.maxConcurrency ?? 1) : 1;
  const clients = [api, ...Array.from({ length: loops - 1 }, connect)];
  try {
    const idle = createIdleCollector({ thorough: true });
    const sources = clients.map((client) =>
      whileWaiting(
        crashes.track(lambdaSource(client, log, scope, { managed, verbose }, crashes.received)),
        idle,
      ),
    );
    await Promise.all(sources.map((source) => runLoop(source, loop)));
  } catch (error) {
    exitOnRuntimeApi(log, error);
  }
  process.exit(0);
}

function exitOnRuntimeApi(log: LambdaLog, error: unknown): never {
  log.logError(error instanceof RuntimeApiFatalError ? 'Runtime API Error' : 'Runtime Error', error);
  process.exit(EXIT_RUNTIME_API);
}

/**
 * The event loop ran dry during an invocation: nothing is left that could finish it (a callback never
 * called, a promise nothing will settle). AWS's v3 client (nodejs18.x–22.x) ends it from a `beforeExit`
 * listener, and so does justfn (`endDrained`: `null`, or `Runtime.NodeJsExit` for an `async` handler),
 * rather than letting it run into its deadline. One invocation at a time only: on managed instances the
 * other loops' `/next` keep the event loop busy, and AWS's client there has no such listener.
 */
function endWhenDrained(handler: LoadedHandler): (context: LambdaContext<object> | undefined) => void {
  let running: LambdaContext<object> | undefined;
  process.on('beforeExit', () => {
    if (running) endDrained(handler, running);
  });
  return (context) => {
    running = context;
  };
}

/** The memory of a burst goes back to the system while the loop waits for the next invocation. */
function whileWaiting(
  source: Source<LambdaInvocation>,
  idle: ReturnType<typeof createIdleCollector>,
): Source<LambdaInvocation> {
  return {
    ...source,
    next: async () => {
      idle.idle();
      const invocation = await source.next();
      idle.busy();
      return invocation;
    },
  };
}

function lambdaSource(
  api: RuntimeApiClient,
  log: LambdaLog,
  scope: InvocationScope,
  { managed, verbose }: { managed: boolean; verbose: number },
  received: () => void,
) {
  return createLambdaSource({
    api,
    log,
    scope,
    received,
    verbose,
    // The environment is process-wide: on managed instances the trace id lives in the context only.
    setTraceId: managed
      ? undefined
      : (traceId) => {
          if (traceId) process.env._X_AMZN_TRACE_ID = traceId;
          else delete process.env._X_AMZN_TRACE_ID;
        },
  });
}

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
 * fails the invocation whose promise it was (Node reports it in that promise's context) and the process
 * goes on, as HTTP mode does: the others run on. One that no invocation in flight owns is logged.
 */
function reportCrashes(
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
  const neverFinished = () =>
    void failed(
      new JustfnError(
        'EXIT',
        `Runtime exited with error: ${phase} never finished: it awaits a promise that nothing is left to settle`,
      ),
    );
  process.once('beforeExit', neverFinished);
  process.on('unhandledRejection', (reason, promise) => {
    const error = Object.assign(new JustfnError('UNHANDLED_REJECTION', safeString(reason)), {
      reason,
      promise,
    });
    if (closing) log.logError('Unhandled Promise Rejection', error);
    else if (managed && phase === 'running') {
      log.logError('Unhandled Promise Rejection', error);
      // Node reports it in the context of the promise that nothing handled: that invocation fails.
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

/** After SIGTERM, Lambda gives a runtime with an internal extension 500 ms, then SIGKILL. */
const SHUTDOWN_BUDGET_MS = 400;

/**
 * SIGTERM (which Lambda sends at shutdown once asked for, and `docker stop` under the Runtime Interface
 * Emulator): the invocations in flight (a managed instance's) see `context.signal` abort and their
 * answers go out, the `onShutdown` hooks run, the resources close in reverse order — connections end
 * cleanly instead of being left to the server's timeouts —, exit 0; within the budget, or exit 0 anyway,
 * naming each invocation left unanswered. A second signal exits at once.
 */
function closeOnSigterm(
  registry: ResourceRegistry,
  log: LambdaLog,
  shutdown: AbortController,
  crashes: ReturnType<typeof reportCrashes>,
): void {
  process.once('SIGTERM', async () => {
    // A crash being reported: the environment goes anyway, with the crash's code, not a clean 0.
    const crashCode = crashes.crashCode();
    if (crashCode !== undefined) process.exit(crashCode);
    process.once('SIGTERM', () => process.exit(0));
    crashes.shuttingDown();
    // An invocation still running (Lambda ends an environment between invocations, or past a timeout)
    // sees its context.signal abort.
    shutdown.abort(new JustfnError('DRAINING', 'The environment is shutting down'));
    setTimeout(() => {
      log.warn(`shutdown: not done after ${SHUTDOWN_BUDGET_MS} ms; exiting`);
      process.exit(0);
    }, SHUTDOWN_BUDGET_MS);
    // On a managed instance, what the handlers in flight answer, seeing the abort, goes out first, while
    // the resources are still open; for half the budget at most: a handler stuck in a query must not keep
    // the pool from closing (which cancels the query on the server) nor the hooks from running.
    const half = new Promise((resolve) => setTimeout(resolve, SHUTDOWN_BUDGET_MS / 2));
    await Promise.race([crashes.settled(), half]);
    for (const requestId of crashes.inFlight())
      log.warn(`shutdown: closing before ${requestId} was answered`);
    log.info('SIGTERM: running the shutdown hooks, closing the resources');
    await runShutdownHooks((error) => log.logError('Shutdown Hook Error', error));
    await registry.close();
    process.exit(0);
  });
}

/**
 * SnapStart on a custom runtime (docs: snapstart-runtime-hooks-custom): before the snapshot the
 * resources close and the before-hooks run; `GET /restore/next` blocks across the snapshot; after the
 * restore the resources reopen and the after-hooks run. What fails after the restore is a restore error
 * (`restored` says when that begins): `/restore/error` is posted and the process exits.
 */
async function snapStart(
  api: RuntimeApiClient,
  registry: ResourceRegistry,
  restored: () => void,
): Promise<void> {
  await runSnapshotHooks('before');
  await registry.close();
  const answer = await api.restoreNext().catch((error: unknown) => {
    throw new RuntimeApiFatalError(`GET /restore/next: ${safeString((error as Error)?.message ?? error)}`, {
      cause: error,
    });
  });
  if (answer.status !== 200) {
    throw new RuntimeApiFatalError(`GET /restore/next: the Runtime API answered ${answer.status}`);
  }
  restored();
  await registry.open();
  await runSnapshotHooks('after');
}

export { warmLambda } from './warm.js';
