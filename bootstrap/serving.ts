import type { Registry } from 'prom-client';
import { startMetricsServer } from '../adapters/http/metrics-server.js';
import type { FunctionInfo } from '../runtime/context.js';
import { createRunner, type HandlerOptions, type QueuedInvocation } from '../runtime/loop.js';
import { createMetricsRecorder, type RecordedMetrics } from '../runtime/metrics-recorder.js';
import { createQueueSource, type QueueSource } from '../runtime/queue-source.js';
import type { RegistryHealth, ResourceRegistry } from '../runtime/resources/resource-registry.js';
import { cgroupMemoryLimitMb } from './cgroup.js';
import { type DrainPlan, drainOnSignals } from './drain.js';
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
// the context's fixed fields, resources opened in the background, metrics on their own port, the drain
// (bootstrap/drain.ts).

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
 * and `onLiveness` as {@link createServingQueue}'s), its metrics recorder and the shutdown signal its contexts see. Once the
 * mode listens, `serve` warns of what is exposed, serves the metrics and drains on signals: the mode's
 * `cleanUp` first, then the resources close, then the metrics.
 */
export async function openServing<I extends QueuedInvocation>(
  service: Service,
  log: RuntimeLog,
  loop: Pick<HandlerOptions, 'handler' | 'functionInfo' | 'scope'>,
  on: { onState?: (health: RegistryHealth) => void } & QueueWatch = {},
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
    on,
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

/** What {@link createServingQueue} tells of its slots held by handlers running past their deadlines. */
interface QueueWatch {
  /** Every slot has come to be held so, or no longer is. */
  onStuck?: (stuck: boolean) => void;
  /** `liveness()` has changed: held so for `JUSTFN_TIMEOUT` again, or a slot came free. */
  onLiveness?: () => void;
}

/**
 * The queue every request or call goes through: `JUSTFN_CONCURRENCY` invocations at once, `JUSTFN_QUEUE`
 * more waiting. Once nothing has run for `JUSTFN_IDLE_GC` seconds (10 by default), the idle collector gives
 * a burst's garbage back (a full collection costs a few milliseconds of an otherwise idle process). Not
 * sooner: on Node 22 the collection
 * that returns memory also shrinks the young generation to its minimum, and a burst that follows pays for
 * regrowing it — 4 µs a gRPC call over the next seconds, measured with one second of quiet between bursts.
 */
export function createServingQueue<I extends QueuedInvocation>(
  options: Options,
  loop: HandlerOptions,
  metrics: RecordedMetrics,
  { onStuck, onLiveness }: QueueWatch = {},
): QueueSource<I> & { stuck(): boolean; liveness(): { live: boolean; reasons: string[] } } {
  let count = 0;
  // Since when every slot has been held by a handler running past its deadline.
  let stuckSince: number | undefined;
  // Until liveness turns; looked at again a moment later should the timer come before the clock says so.
  let notLive: NodeJS.Timeout | undefined;
  const turned = () => {
    if (liveness().live) notLive = setTimeout(turned, 50).unref();
    else onLiveness?.();
  };
  const overruns = {
    begin() {
      count++;
      if (count !== options.concurrency) return;
      stuckSince = Date.now();
      onStuck?.(true);
      if (onLiveness) notLive = setTimeout(turned, options.timeout * 1000).unref();
    },
    end() {
      count--;
      if (count !== options.concurrency - 1) return;
      stuckSince = undefined;
      clearTimeout(notLive);
      onStuck?.(false);
      onLiveness?.();
    },
  };
  /**
   * Not live once every slot has been held past its deadline for `JUSTFN_TIMEOUT` again: nothing in the
   * process can end those handlers (Lambda ends each at its deadline), and only a restart frees the slots.
   */
  const liveness = () =>
    stuckSince !== undefined && Date.now() - stuckSince > options.timeout * 1000
      ? {
          live: false,
          reasons: [`every slot has been held by a handler past its deadline for over ${options.timeout} s`],
        }
      : { live: true, reasons: [] };
  const source = createQueueSource<I>({
    concurrency: options.concurrency,
    queue: options.queue,
    run: createRunner<I>({ ...loop, overruns }),
    idle: options.idleGc > 0 ? createIdleCollector({ delayMs: options.idleGc * 1000 }) : undefined,
    dropped: () => metrics.rejected('caller_gone'),
  });
  return Object.assign(source, {
    /** Every slot is held by a handler running on past its deadline: nothing can be served until one ends. */
    stuck: () => stuckSince !== undefined,
    liveness,
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
