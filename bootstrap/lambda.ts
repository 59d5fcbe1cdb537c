import {
  createLambdaSource,
  type LambdaInvocation,
  RuntimeApiFatalError,
} from '../adapters/lambda/lambda-source.js';
import { createRuntimeApiClient, type RuntimeApiClient } from '../adapters/lambda/runtime-api-client.js';
import type { LambdaContext } from '../runtime/context.js';
import { JustfnError, safeString } from '../runtime/errors.js';
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
import { createConcurrentScope, createSequentialScope, type InvocationScope } from '../runtime/scope.js';
import { installAwslambda } from '../runtime/streaming.js';
import { type CrashReporter, reportCrashes } from './lambda-crashes.js';
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
    closeOnSigterm({ registry, log, scope, shutdown, crashes });
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

/** After SIGTERM, Lambda gives a runtime with an internal extension 500 ms, then SIGKILL. */
const SHUTDOWN_BUDGET_MS = 400;

/**
 * SIGTERM (which Lambda sends at shutdown once asked for, and `docker stop` under the Runtime Interface
 * Emulator): the invocations in flight (a managed instance's) see `context.signal` abort and their
 * answers go out, the `onShutdown` hooks run, the resources close in reverse order — connections end
 * cleanly instead of being left to the server's timeouts —, exit 0; within the budget, or exit 0 anyway,
 * naming each invocation left unanswered. A second signal exits at once.
 */
function closeOnSigterm({
  registry,
  log,
  scope,
  shutdown,
  crashes,
}: {
  registry: ResourceRegistry;
  log: LambdaLog;
  scope: InvocationScope;
  shutdown: AbortController;
  crashes: CrashReporter;
}): void {
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
    // The hooks' and the resources' lines are no invocation's (the last one's id would stay on them).
    scope.forget();
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
