import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { alb } from '../adapters/http/alb.js';
import { apigwV1 } from '../adapters/http/apigw-v1.js';
import { apigwV2 } from '../adapters/http/apigw-v2.js';
import type { HttpInvocation } from '../adapters/http/http-invocations.js';
import { createInvocationFactory } from '../adapters/http/http-invocations.js';
import type { HttpEventFormat } from '../adapters/http/request.js';
import { createHttpServer } from '../adapters/http/server.js';
import type { FunctionInfo } from '../runtime/context.js';
import { JustfnError } from '../runtime/errors.js';
import { loadHandler } from '../runtime/handler-loader.js';
import { runLoop } from '../runtime/loop.js';
import { createDeferredRecorder, type MetricsRecorder } from '../runtime/metrics-recorder.js';
import { createQueueSource, type QueueSource } from '../runtime/queue-source.js';
import type { RegistryHealth, ResourceRegistry } from '../runtime/resources/resource-registry.js';
import { createConcurrentScope } from '../runtime/scope.js';
import { awslambda } from '../runtime/streaming.js';
import { cgroupMemoryLimitMb } from './cgroup.js';
import type { Options } from './options.js';
import { createRuntimeLog, type RuntimeLog } from './runtime-log.js';
import { createRegistry, resolveService, type Service, type ServiceStart } from './service.js';

const formats: Record<string, HttpEventFormat<unknown, unknown>> = {
  'apigw-v2': apigwV2 as HttpEventFormat<unknown, unknown>,
  'apigw-v1': apigwV1 as HttpEventFormat<unknown, unknown>,
  alb: alb as HttpEventFormat<unknown, unknown>,
};

/**
 * HTTP mode (Knative, containers): fastify on `$PORT`, `JUSTFN_CONCURRENCY` loops over one bounded queue,
 * JSON logs with the request id on every line, the resources of `justfn.yaml` opened in the background
 * (readiness waits for them), metrics on their own port, and a drain on SIGTERM that answers every
 * accepted request, closes the resources, then exits 0.
 */
export async function startHttp(start: ServiceStart): Promise<void> {
  const scope = createConcurrentScope();
  const service = await resolveOrExit(
    start,
    createRuntimeLog(start.options, scope, start.options.functionName ?? 'justfn'),
  );
  const { options } = service;
  const functionInfo = describeFunction(options);
  const log = createRuntimeLog(options, scope, functionInfo.functionName);
  if (!options.noGlobalAwslambda) Object.assign(globalThis, { awslambda });

  let handler: Awaited<ReturnType<typeof loadHandler>>;
  try {
    handler = await loadHandler(service.handler, {
      taskRoot: service.taskRoot,
      importModule: start.importModule,
    });
  } catch (error) {
    log.fatal(
      { err: error, handler: service.handler, taskRoot: service.taskRoot },
      'Init Error: the handler cannot be loaded',
    );
    process.exit(1);
  }

  const shutdown = new AbortController();
  const registry = await createRegistry(service, log);
  // Resources open in the background, retried with backoff: the server listens at once, readiness waits.
  const opened = registry.openWithRetry({ signal: shutdown.signal }).catch((error: unknown) => {
    log.fatal({ err: error }, 'a resource cannot be opened, and retrying will not help');
    return false;
  });
  const recheck = setInterval(() => void registry.check().catch(() => {}), 5_000).unref();

  const source = createQueueSource<HttpInvocation>({
    concurrency: options.concurrency,
    queue: options.queue,
  });
  const metrics = createDeferredRecorder();
  const app = createHttpServer({
    maxBody: options.maxBody,
    invokeApi: options.invokeApi,
    source,
    invocations: createInvocationFactory({
      format: formats[options.httpEvent] ?? apigwV2,
      formatName: options.httpEvent,
      formatOptions: options.httpEvent === 'alb' ? { multiValueHeaders: options.albMultiValue } : {},
      timeout: options.timeout,
      invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionInfo.functionName}`,
      exposeErrors: options.exposeErrors,
      replySource: `urn:justfn:${functionInfo.functionName}`,
      scope,
      log,
      metrics,
    }),
    readiness: () => readiness(registry.health()),
    metrics,
    log,
  });
  const loopOptions = {
    handler,
    functionInfo,
    scope,
    resources: registry.resources,
    enforceDeadline: options.timeout,
    shutdown: shutdown.signal,
  };
  for (let i = 0; i < options.concurrency; i++) {
    runLoop(source.source, loopOptions).catch((error: unknown) =>
      log.fatal({ err: error }, 'the invocation loop failed'),
    );
  }

  await app.listen({ port: options.port, host: options.host }).catch((error: NodeJS.ErrnoException) => {
    log.fatal({ err: error, port: options.port }, `cannot listen on ${options.host}:${options.port}`);
    process.exit(1);
  });
  const port = (app.server.address() as AddressInfo).port;
  log.info(
    {
      port,
      handler: handler.name,
      event: options.httpEvent,
      concurrency: options.concurrency,
      resources: Object.keys(service.config?.config.resources ?? {}),
      revision: options.functionVersion,
      configuration: options.configuration,
    },
    `justfn is serving ${handler.name} on ${options.host}:${port}`,
  );
  const closeMetrics = serveMetrics(options, service, registry, source, metrics, log);

  let draining = false;
  const drain = async (reason: string, exitCode: number) => {
    if (draining) {
      log.warn({ reason }, 'second signal: exiting now');
      process.exit(exitCode || 1);
    }
    draining = true;
    log.info(
      { reason, inFlight: source.running(), queued: source.queued() },
      'draining: finishing accepted requests',
    );
    app.server.close();
    await source.drain(options.drainTimeout * 1000, (invocation: HttpInvocation) => {
      shutdown.abort(new JustfnError('DRAINING', 'The instance is shutting down'));
      const error = new JustfnError('DRAINING', 'The drain timeout passed');
      invocation.respond({
        ok: false,
        error: { errorType: error.name, errorMessage: error.message, trace: [] },
        thrown: error,
        timedOut: true,
      });
    });
    app.server.closeAllConnections();
    clearInterval(recheck);
    shutdown.abort();
    await opened;
    await registry.close();
    await (await closeMetrics)();
    log.info({ reason }, 'drained: exiting');
    process.exit(exitCode);
  };
  process.on('SIGTERM', () => void drain('SIGTERM', 0));
  process.on('SIGINT', () => void drain('SIGINT', 0));
  process.on('uncaughtException', (error) => {
    log.fatal({ err: error }, 'Uncaught Exception: draining, then exiting');
    void drain('uncaughtException', 1);
  });
  process.on('unhandledRejection', (reason) => {
    log.error(
      { err: reason instanceof Error ? reason : new Error(String(reason)) },
      'Unhandled Promise Rejection',
    );
  });
}

async function resolveOrExit(start: ServiceStart, log: RuntimeLog): Promise<Service> {
  try {
    return await resolveService(start);
  } catch (error) {
    // Duck-typed: the config loader lives in its own bundle, with its own copy of ConfigError.
    const problems = (error as { problems?: string[] }).problems ?? [String(error)];
    log.fatal({ problems }, `Init Error: ${problems.join('; ')}`);
    process.exit(2);
  }
}

/**
 * Metrics load after the server listens: prom-client is not on the cold path, and what happens before
 * it loads is kept by the deferred recorder. Resolves to the function that closes the metrics server.
 */
function serveMetrics(
  options: Options,
  service: Service,
  registry: ResourceRegistry,
  source: QueueSource<HttpInvocation>,
  recorder: ReturnType<typeof createDeferredRecorder>,
  log: RuntimeLog,
): Promise<() => Promise<void>> {
  const none = async () => {};
  if (options.metricsPort === 0) return Promise.resolve(none);
  const initSeconds = process.uptime();
  return new Promise((resolve) =>
    setImmediate(async () => {
      const { createMetrics } = await import('../runtime/metrics.js');
      const { startMetricsServer } = await import('../adapters/http/metrics-server.js');
      const resources = () => resourceStates(service, registry.health());
      const created = createMetrics(
        { inFlight: source.running, queued: source.queued, resources },
        initSeconds,
      );
      recorder.attach(created.recorder satisfies MetricsRecorder);
      const server = await startMetricsServer(created.registry, options.metricsPort, options.host).catch(
        (error: Error) => log.error({ err: error }, `cannot serve metrics on port ${options.metricsPort}`),
      );
      resolve(server ? server.close : none);
    }),
  );
}

function readiness(health: RegistryHealth): { ready: boolean; reasons: string[] } {
  if (health.ready) return { ready: true, reasons: [] };
  const reasons = Object.entries(health.resources)
    .filter(([, resource]) => resource.state !== 'open' || !resource.healthy)
    .map(
      ([name, resource]) =>
        `resource ${name}: ${resource.state}${resource.error ? ` (${resource.error})` : ''}`,
    );
  return { ready: false, reasons: reasons.length > 0 ? reasons : ['resources are opening'] };
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

function describeFunction(options: Options): FunctionInfo {
  const functionName = options.functionName ?? 'justfn';
  return {
    functionName,
    functionVersion: options.functionVersion,
    memoryLimitInMB: options.memorySize ?? cgroupMemoryLimitMb() ?? '3008',
    logGroupName: options.logGroupName ?? `/aws/lambda/${functionName}`,
    logStreamName: options.logStreamName ?? hostname(),
  };
}
