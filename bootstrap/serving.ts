import { AsyncResource } from 'node:async_hooks';
import type { Registry } from 'prom-client';
import { startMetricsServer } from '../adapters/http/metrics-server.js';
import type { FunctionInfo } from '../runtime/context.js';
import { type ErrorPayload, JustfnError, safeString, toErrorPayload } from '../runtime/errors.js';
import { runShutdownHooks } from '../runtime/hooks.js';
import { createRunner, type HandlerOptions, type QueuedInvocation } from '../runtime/loop.js';
import { createMetricsRecorder, type RecordedMetrics } from '../runtime/metrics-recorder.js';
import { createQueueSource, type QueueSource } from '../runtime/queue-source.js';
import type { RegistryHealth, ResourceRegistry } from '../runtime/resources/resource-registry.js';
import { withTimeout } from '../runtime/resources/timing.js';
import type { InvocationScope } from '../runtime/scope.js';
import { cgroupMemoryLimitMb } from './cgroup.js';
import { createIdleCollector } from './memory.js';
import type { Options } from './options.js';
import type { RuntimeLog } from './runtime-log.js';
import {
  createRegistry,
  functionInfoOf,
  maskSecretsOf,
  portClash,
  resolveService,
  type Service,
  type ServiceStart,
} from './service.js';

// What the two long-running server modes share — HTTP (fastify) and gRPC (grpc-js) on $PORT: the service,
// the context's fixed fields, resources opened in the background, metrics on their own port, the drain.

/** The service, or a fatal log line with each `justfn.yaml` problem and exit 2. */
export async function resolveOrExit(start: ServiceStart, log: RuntimeLog): Promise<Service> {
  try {
    const service = await resolveService(start);
    maskSecretsOf(service);
    const problem = portClash(service, start.env);
    if (problem) throw Object.assign(new Error(problem), { problems: [problem] });
    return service;
  } catch (error) {
    // Duck-typed: the config loader lives in its own bundle, with its own copy of ConfigError.
    const problems = (error as { problems?: string[] }).problems ?? [String(error)];
    log.fatal({ problems }, `Init Error: ${problems.join('; ')}`);
    process.exit(2);
  }
}

/**
 * One warning line for each setting meant for local work that is on where others can connect: the raw
 * invoke endpoint (`JUSTFN_INVOKE_API`, HTTP mode) and error details in answers (`JUSTFN_EXPOSE_ERRORS`).
 */
function warnIfExposed(options: Options, log: RuntimeLog, mode: 'http' | 'grpc'): void {
  if (['127.0.0.1', '::1', 'localhost'].includes(options.host)) return;
  const on = [
    ...(mode === 'http' && options.invokeApi ? ['JUSTFN_INVOKE_API=1 serves the raw invoke endpoint'] : []),
    ...(options.exposeErrors ? ['JUSTFN_EXPOSE_ERRORS=1 puts error messages and stacks in answers'] : []),
  ];
  for (const what of on)
    log.warn({ host: options.host }, `${what} to every caller on ${options.host}: for local work only`);
}

/** The context's fixed fields in a server mode: Knative's variables, the cgroup's memory limit. */
export function describeFunction(options: Options): FunctionInfo {
  return functionInfoOf({ ...options, memorySize: options.memorySize ?? cgroupMemoryLimitMb() });
}

/** The ARN a server mode gives `context.invokedFunctionArn`: Lambda's shape, in a `local` region. */
export function localArn(functionName: string): string {
  return `arn:aws:lambda:local:000000000000:function:${functionName}`;
}

/**
 * What both server modes run on, made before they listen: the resources opening in the background
 * (`onState` is told each change of their health), the queue every request or call goes through (`onStuck`
 * as {@link createServingQueue}'s), its metrics recorder and the shutdown signal its contexts see. Once the
 * mode listens, `serve` warns of what is exposed, serves the metrics and drains on signals: the mode's
 * `cleanUp` first, then the resources close, then the metrics.
 */
export async function openServing<I extends QueuedInvocation>(
  service: Service,
  log: RuntimeLog,
  loop: Pick<HandlerOptions, 'handler' | 'functionInfo' | 'scope'>,
  on: { onState?: (health: RegistryHealth) => void; onStuck?: (stuck: boolean) => void } = {},
) {
  const { options } = service;
  const resources = await openInBackground(service, log, on.onState);
  const { registry } = resources;
  const shutdown = new AbortController();
  const metrics = createMetricsRecorder();
  const source = createServingQueue<I>(
    options,
    { ...loop, resources: registry.resources, shutdown: shutdown.signal },
    metrics,
    on.onStuck,
  );
  return {
    registry,
    source,
    metrics,
    serve(
      mode: 'http' | 'grpc',
      plan: Pick<DrainPlan<I>, 'onExit' | 'stopAccepting' | 'abandon' | 'cleanUp'>,
    ) {
      warnIfExposed(options, log, mode);
      const closeMetrics = serveMetrics(options, service, registry, source, metrics, log, resources.readyAt);
      drainOnSignals({
        ...plan,
        log,
        source,
        scope: loop.scope,
        fatal: resources.fatal,
        drainTimeout: options.drainTimeout,
        shutdown,
        async cleanUp() {
          await plan.cleanUp();
          await resources.close();
          await closeMetrics();
        },
      });
    },
  };
}

/**
 * The resources open in the background, retried with backoff: the server listens at once and readiness
 * waits for them; every 5 s a real round trip keeps readiness true to their state — every second while
 * one is down, so that readiness (which decides whether Knative sends traffic) returns with it. A failure
 * retrying cannot mend (a `.proto` that does not parse, a service not in it) resolves `fatal`: the instance
 * would never be ready, so it drains and exits 1, and the orchestrator sees it fail.
 */
async function openInBackground(
  service: Service,
  log: RuntimeLog,
  onState?: (health: RegistryHealth) => void,
) {
  const stop = new AbortController();
  const registry = await createRegistry(service, log);
  // When every resource was first open: the end of init, for the metrics.
  let readyAt: number | undefined;
  const noteReady = (health: RegistryHealth) => {
    if (readyAt === undefined && health.ready) readyAt = process.uptime();
  };
  noteReady(registry.health());
  let failed: () => void = () => {};
  const fatal = new Promise<void>((resolve) => {
    failed = resolve;
  });
  const opened = registry
    .openWithRetry({
      signal: stop.signal,
      onState: (health) => {
        noteReady(health);
        onState?.(health);
      },
    })
    .catch((error: unknown) => {
      log.fatal({ err: error }, 'a resource cannot be opened, and retrying will not help: exiting');
      failed();
      return false;
    });
  let recheck: NodeJS.Timeout | undefined;
  const schedule = () => {
    recheck = setTimeout(
      () =>
        void registry
          .check()
          .then(onState, () => {})
          .finally(() => !stop.signal.aborted && schedule()),
      registry.health().ready ? 5_000 : 1_000,
    ).unref();
  };
  schedule();
  return {
    registry,
    /** Seconds from process start to every resource open, once they are. */
    readyAt: () => readyAt,
    /** Resolves if a resource failed for good. */
    fatal,
    /** After the drain: stop retrying, then close in reverse order. */
    async close() {
      clearTimeout(recheck);
      stop.abort();
      await opened;
      await registry.close();
    },
  };
}

/**
 * The queue every request or call goes through: `JUSTFN_CONCURRENCY` invocations at once, `JUSTFN_QUEUE`
 * more waiting. Once nothing has run for 10 s, the idle collector gives a burst's garbage back (a full
 * collection costs a few milliseconds of an otherwise idle process). Not sooner: on Node 22 the collection
 * that returns memory also shrinks the young generation to its minimum, and a burst that follows pays for
 * regrowing it — 4 µs a gRPC call over the next seconds, measured with one second of quiet between bursts.
 */
export function createServingQueue<I extends QueuedInvocation>(
  options: Options,
  loop: HandlerOptions,
  metrics: RecordedMetrics,
  /** Told when every slot comes to be held by a handler running past its deadline, and when no longer. */
  onStuck?: (stuck: boolean) => void,
): QueueSource<I> & { stuck(): boolean; liveness(): { live: boolean; reasons: string[] } } {
  let count = 0;
  // Since when every slot has been held by a handler running past its deadline.
  let stuckSince: number | undefined;
  const overruns = {
    begin() {
      count++;
      if (count !== options.concurrency) return;
      stuckSince = Date.now();
      onStuck?.(true);
    },
    end() {
      count--;
      if (count !== options.concurrency - 1) return;
      stuckSince = undefined;
      onStuck?.(false);
    },
  };
  const source = createQueueSource<I>({
    concurrency: options.concurrency,
    queue: options.queue,
    run: createRunner<I>({ ...loop, overruns }),
    idle: createIdleCollector({ delayMs: 10_000 }),
    dropped: () => metrics.rejected('caller_gone'),
  });
  return Object.assign(source, {
    /** Every slot is held by a handler running on past its deadline: nothing can be served until one ends. */
    stuck: () => stuckSince !== undefined,
    /**
     * Not live once every slot has been held past its deadline for `JUSTFN_TIMEOUT` again: nothing in the
     * process can end those handlers (Lambda ends each at its deadline), and only a restart frees the slots.
     */
    liveness: () =>
      stuckSince !== undefined && Date.now() - stuckSince > options.timeout * 1000
        ? {
            live: false,
            reasons: [
              `every slot has been held by a handler past its deadline for over ${options.timeout} s`,
            ],
          }
        : { live: true, reasons: [] },
  });
}

/**
 * The server cannot listen: one fatal line that says why in words — the port taken, a port below 1024, a
 * `JUSTFN_HOST` that is not this machine's — and which variable changes it; then exit 1.
 */
export function cannotListen(log: RuntimeLog, options: Options, error: NodeJS.ErrnoException): never {
  const problem = listenProblem(error);
  const reason =
    problem === 'taken'
      ? `port ${options.port} is already in use (stop what holds it, or set PORT to another)`
      : problem === 'privileged'
        ? `port ${options.port} needs privileges this process does not have (set PORT above 1023)`
        : problem === 'host'
          ? `${options.host} is not an address of this machine (JUSTFN_HOST)`
          : error.message;
  log.fatal(
    { code: error.code, port: options.port },
    `cannot listen on ${options.host}:${options.port}: ${reason}`,
  );
  process.exit(1);
}

/** What a failed listen (node:net's, or grpc-js's bind, which carries no code) ran into, if it is one we name. */
function listenProblem(error: NodeJS.ErrnoException): 'taken' | 'privileged' | 'host' | undefined {
  const text = `${error.code ?? ''} ${error.message}`;
  if (text.includes('EADDRINUSE')) return 'taken';
  if (text.includes('EACCES')) return 'privileged';
  if (/EADDRNOTAVAIL|ENOTFOUND|EAI_AGAIN|Name resolution failed|Failed to parse/.test(text)) return 'host';
  return undefined;
}

/**
 * Whether the instance may take traffic, and if not, which resources keep it back (or that every slot is
 * held by a handler that overran its deadline). `/_/health/ready` is
 * on the public port: the reasons name the resource and its state, and carry the error (a host, a port)
 * only with `JUSTFN_EXPOSE_ERRORS=1`; the log has it in any case.
 */
export function readiness(
  health: RegistryHealth,
  exposeErrors = false,
  stuck = false,
): { ready: boolean; reasons: string[] } {
  if (stuck) return { ready: false, reasons: ['every slot is held by a handler running past its deadline'] };
  if (health.ready) return { ready: true, reasons: [] };
  const reasons = Object.entries(health.resources)
    .filter(([, resource]) => resource.state !== 'open' || !resource.healthy)
    .map(([name, { state, error }]) => {
      const why = state === 'open' ? 'failing its health check' : state;
      return `resource ${name}: ${why}${exposeErrors && error ? ` (${error})` : ''}`;
    });
  return { ready: false, reasons: reasons.length > 0 ? reasons : ['resources are opening'] };
}

/**
 * Metrics on their own port, off the cold path: the port opens at once, prom-client loads once the first
 * invocation was answered, on the first scrape, or after a second — whichever comes first — and reads
 * the recorder's counts, kept from the start, at each scrape. Returns the function that stops them.
 */
function serveMetrics(
  options: Options,
  service: Service,
  registry: ResourceRegistry,
  source: Pick<QueueSource, 'running' | 'queued'>,
  recorded: RecordedMetrics,
  log: RuntimeLog,
  resourcesReadyAt: () => number | undefined,
): () => Promise<void> {
  if (options.metricsPort === 0) return async () => {};
  // Ready to serve: listening (now) with every resource open; until then there is no init duration.
  const listenedAt = process.uptime();
  const initSeconds = () => {
    const readyAt = resourcesReadyAt();
    return readyAt === undefined ? undefined : Math.max(readyAt, listenedAt);
  };
  let loading: Promise<Registry> | undefined;
  const load = () => {
    loading ??= import('../runtime/metrics.js').then(({ createMetrics }) => {
      const resources = () => resourceStates(service, registry.health());
      const gauges = { inFlight: source.running, queued: source.queued, resources };
      return createMetrics(gauges, initSeconds, recorded).registry;
    });
    return loading;
  };
  const timer = setTimeout(load, 1_000);
  // The first count comes as the first answer is written: prom-client loads right after it.
  recorded.onFirstRecord(() => setImmediate(load));
  // The function serves on without them: one line that says why, and which variable moves them.
  // The function port's bound on a silent connection: 10 s, or the body timeout if shorter.
  const idleTimeoutMs = Math.min(10_000, options.bodyTimeout * 1000);
  const server = startMetricsServer(load, options.metricsPort, options.host, idleTimeoutMs).catch(
    (error: NodeJS.ErrnoException) => {
      const problem = listenProblem(error);
      const why =
        problem === 'taken'
          ? `port ${options.metricsPort} is already in use`
          : problem === 'privileged'
            ? `port ${options.metricsPort} needs privileges this process does not have`
            : error.message;
      log.error(
        { code: error.code, port: options.metricsPort },
        `cannot serve metrics on port ${options.metricsPort}: ${why}; serving without them (JUSTFN_METRICS_PORT picks another port, 0 turns them off)`,
      );
    },
  );
  return async () => {
    clearTimeout(timer);
    await (await server)?.close();
  };
}

function resourceStates(
  service: Service,
  health: RegistryHealth,
): Record<string, { kind: string; up: boolean }> {
  return Object.fromEntries(
    Object.entries(service.config?.config.resources ?? {}).map(([name, config]) => {
      const resource = health.resources[name];
      return [name, { kind: config.kind, up: resource?.state === 'open' && resource.healthy }];
    }),
  );
}

interface DrainPlan<I extends QueuedInvocation> {
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
 * died with an uncaught exception will not finish,
 * so its slot goes to the next waiting invocation. A handler that calls `process.exit` ends the instance
 * at once, as on Lambda: what it had accepted is answered as the process goes (`Runtime.ExitError`), not
 * left to a reset connection.
 */
function drainOnSignals<I extends QueuedInvocation>(plan: DrainPlan<I>): void {
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
  const drain = async (reason: string, exitCode: number) => {
    // A process whose event loop empties during the drain (the server closed, a handler waiting on nothing)
    // ends with this code too, not 0; a failure during a drain (an uncaught exception) makes it 1.
    process.exitCode = Math.max(Number(process.exitCode ?? 0), exitCode);
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
    process.exit();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (draining) {
      log.warn({ reason: signal }, 'second signal: exiting now');
      process.exit(1);
    }
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
    log.fatal({ err: error }, 'Uncaught Exception: draining, then exiting');
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
    // Node runs this in the async context of the promise that nothing handled. Its invocation fails, as
    // on Lambda (where the whole process would go); its handler keeps its slot until it ends, as one
    // that overran its deadline does.
    const invocation = culprit();
    if (invocation) {
      const error = new JustfnError('UNHANDLED_REJECTION', safeString(reason));
      fail(invocation, Object.assign(error, { reason, promise }));
    }
  });
}
