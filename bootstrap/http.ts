import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { format } from 'node:util';
import { alb } from '../adapters/http/alb.js';
import { apigwV1 } from '../adapters/http/apigw-v1.js';
import { apigwV2 } from '../adapters/http/apigw-v2.js';
import { createInvocationFactory } from '../adapters/http/http-invocations.js';
import { createHttpSource, type HttpInvocation } from '../adapters/http/http-source.js';
import type { HttpEventFormat } from '../adapters/http/request.js';
import { createHttpServer } from '../adapters/http/server.js';
import type { FunctionInfo } from '../runtime/context.js';
import { JustfnError } from '../runtime/errors.js';
import { loadHandler } from '../runtime/handler-loader.js';
import { createJsonLog, type LogLevel } from '../runtime/logging/json-log.js';
import { createLambdaLog } from '../runtime/logging/lambda-log.js';
import { runLoop } from '../runtime/loop.js';
import { createDeferredRecorder } from '../runtime/metrics-recorder.js';
import { createConcurrentScope, type InvocationScope } from '../runtime/scope.js';
import { awslambda } from '../runtime/streaming.js';
import { cgroupMemoryLimitMb } from './cgroup.js';
import type { Options } from './options.js';

export interface HttpStart {
  options: Options;
  handler: string;
  taskRoot: string;
  importModule: (specifier: string) => Promise<unknown>;
}

const formats: Record<string, HttpEventFormat<unknown, unknown>> = {
  'apigw-v2': apigwV2 as HttpEventFormat<unknown, unknown>,
  'apigw-v1': apigwV1 as HttpEventFormat<unknown, unknown>,
  alb: alb as HttpEventFormat<unknown, unknown>,
};

/** The runtime's own log lines in HTTP mode: structured fields and a message. */
export interface RuntimeLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  fatal(fields: object, message: string): void;
}

/**
 * HTTP mode (Knative, containers): fastify on `$PORT`, `JUSTFN_CONCURRENCY` loops over one bounded queue,
 * JSON logs with the request id on every line, metrics on their own port, and a drain on SIGTERM that
 * answers every accepted request before the process exits 0.
 */
export async function startHttp(start: HttpStart): Promise<void> {
  const { options } = start;
  const scope = createConcurrentScope();
  const functionInfo = describeFunction(options);
  const log = createRuntimeLog(options, scope, functionInfo.functionName);
  if (!options.noGlobalAwslambda) Object.assign(globalThis, { awslambda });

  let handler: Awaited<ReturnType<typeof loadHandler>>;
  try {
    handler = await loadHandler(start.handler, {
      taskRoot: start.taskRoot,
      importModule: start.importModule,
    });
  } catch (error) {
    log.fatal(
      { err: error, handler: start.handler, taskRoot: start.taskRoot },
      'Init Error: the handler cannot be loaded',
    );
    process.exit(1);
  }

  const source = createHttpSource({ concurrency: options.concurrency, queue: options.queue });
  const metrics = createDeferredRecorder();
  const shutdown = new AbortController();
  const invocations = createInvocationFactory({
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
  });
  const app = createHttpServer({
    maxBody: options.maxBody,
    invokeApi: options.invokeApi,
    source,
    invocations,
    readiness: () => ({ ready: true, reasons: [] }),
    metrics,
    log,
  });
  const loopOptions = {
    handler,
    functionInfo,
    scope,
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
  const initSeconds = process.uptime();
  const port = (app.server.address() as AddressInfo).port;
  log.info(
    {
      port,
      handler: handler.name,
      event: options.httpEvent,
      concurrency: options.concurrency,
      revision: options.functionVersion,
      configuration: options.configuration,
    },
    `justfn is serving ${handler.name} on ${options.host}:${port}`,
  );

  // Metrics load after the first request can already be served: prom-client is not on the cold path.
  let closeMetrics = async () => {};
  if (options.metricsPort !== 0) {
    setImmediate(async () => {
      const { createMetrics } = await import('../runtime/metrics.js');
      const { startMetricsServer } = await import('../adapters/http/metrics-server.js');
      const created = createMetrics({ inFlight: source.running, queued: source.queued }, initSeconds);
      metrics.attach(created.recorder);
      const server = await startMetricsServer(created.registry, options.metricsPort, options.host).catch(
        (error: Error) => log.error({ err: error }, `cannot serve metrics on port ${options.metricsPort}`),
      );
      if (server) closeMetrics = server.close;
    });
  }

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
      invocation.respond({
        ok: false,
        error: { errorType: 'Runtime.Draining', errorMessage: 'The drain timeout passed', trace: [] },
        thrown: new JustfnError('DRAINING', 'The drain timeout passed'),
        timedOut: true,
      });
    });
    app.server.closeAllConnections();
    await closeMetrics();
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

/** JSON (pino) by default; Lambda's Text format when asked for. `console.*` goes the same way. */
function createRuntimeLog(options: Options, scope: InvocationScope, service: string): RuntimeLog {
  const level = (options.logLevel ?? 'info') as LogLevel;
  if (options.logFormat === 'Text') {
    const text = createLambdaLog({
      format: 'Text',
      level: level.toUpperCase() as Parameters<typeof createLambdaLog>[0]['level'],
      scope,
      stdout: (line) => process.stdout.write(line),
    });
    Object.assign(console, {
      trace: text.trace,
      debug: text.debug,
      info: text.info,
      log: text.log,
      warn: text.warn,
      error: text.error,
    });
    const line = (method: (...args: unknown[]) => void) => (fields: object, message: string) =>
      method(message, format('%o', fields));
    return { info: line(text.info), warn: line(text.warn), error: line(text.error), fatal: line(text.fatal) };
  }
  const { logger, console: methods } = createJsonLog({ level, scope, service });
  Object.assign(console, methods);
  return {
    info: (fields, message) => logger.info(fields, message),
    warn: (fields, message) => logger.warn(fields, message),
    error: (fields, message) => logger.error(fields, message),
    fatal: (fields, message) => logger.fatal(fields, message),
  };
}
