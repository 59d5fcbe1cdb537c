import { type AddressInfo, Server } from 'node:net';
import { alb } from '../adapters/http/alb.js';
import { apigwV1 } from '../adapters/http/apigw-v1.js';
import { apigwV2 } from '../adapters/http/apigw-v2.js';
import { createInvocationFactory, type HttpInvocation } from '../adapters/http/http-invocations.js';
import type { HttpEventFormat } from '../adapters/http/request.js';
import { createHttpServer } from '../adapters/http/server.js';
import { JustfnError } from '../runtime/errors.js';
import { loadHandler } from '../runtime/handler-loader.js';
import { createConcurrentScope } from '../runtime/scope.js';
import { installAwslambda } from '../runtime/streaming.js';
import { ownErrorPayload } from './drain.js';
import { createRuntimeLog } from './runtime-log.js';
import type { ServiceStart } from './service.js';
import {
  cannotListen,
  describeFunction,
  localArn,
  openServing,
  readiness,
  resolveOrExit,
} from './serving.js';

const neverRan = new JustfnError('DRAINING', 'The instance shut down before the request started');

const formats: Record<string, HttpEventFormat<unknown, unknown>> = {
  'apigw-v2': apigwV2 as HttpEventFormat<unknown, unknown>,
  'apigw-v1': apigwV1 as HttpEventFormat<unknown, unknown>,
  alb: alb as HttpEventFormat<unknown, unknown>,
};

/**
 * HTTP mode (Knative, containers): fastify on `$PORT`, `JUSTFN_CONCURRENCY` invocations at once over one
 * bounded queue,
 * JSON logs with the request id on every line, the resources of `justfn.yaml` opened in the background
 * (readiness waits for them), metrics on their own port, and a drain on SIGTERM that answers every
 * accepted request, closes the resources, then exits 0. A `grpc:` block in `justfn.yaml` hands over to
 * gRPC mode instead.
 */
export async function startHttp(start: ServiceStart): Promise<void> {
  const scope = createConcurrentScope();
  const service = await resolveOrExit(
    start,
    createRuntimeLog(start.options, scope, start.options.functionName ?? 'justfn'),
  );
  const { options } = service;
  // gRPC mode's handlers too: the AWS SDK and Powertools read the invocation's ids there.
  if (!options.noGlobalAwslambda) installAwslambda(scope);
  if (service.config?.config.grpc) {
    const { startGrpc } = await import('./grpc.js');
    return startGrpc(start, service, scope);
  }
  const functionInfo = describeFunction(options);
  const log = createRuntimeLog(options, scope, functionInfo.functionName);

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

  const { registry, source, metrics, serve } = await openServing<HttpInvocation>(service, log, {
    handler,
    functionInfo,
    scope,
  });
  const app = createHttpServer({
    maxBody: options.maxBody,
    bodyTimeout: options.bodyTimeout,
    invokeApi: options.invokeApi,
    source,
    invocations: createInvocationFactory({
      format: formats[options.httpEvent] ?? apigwV2,
      formatName: options.httpEvent,
      formatOptions: options.httpEvent === 'alb' ? { multiValueHeaders: options.albMultiValue } : {},
      timeout: options.timeout,
      invokedFunctionArn: localArn(functionInfo.functionName),
      exposeErrors: options.exposeErrors,
      replySource: service.config?.config.http?.replySource ?? `urn:justfn:${functionInfo.functionName}`,
      replyType: service.config?.config.http?.replyType,
      scope,
      log,
      metrics,
    }),
    readiness: () => readiness(registry.health(), options.exposeErrors, source.stuck()),
    liveness: source.liveness,
    metrics,
    log,
  });
  await app
    .listen({ port: options.port, host: options.host })
    .catch((error: NodeJS.ErrnoException) => cannotListen(log, options, error));
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
  serve('http', {
    onExit: 'answering what was accepted',
    // The listener closes; open connections stay until the drain ends, so that a request already on its
    // way on one gets the draining 503 (`Connection: close`, safe to retry) rather than a reset. (http's
    // own close() would also close the idle ones at once: net's closes the listener only.)
    stopAccepting: () => Server.prototype.close.call(app.server),
    abandon: (invocation, error, running) =>
      invocation.respond(
        running
          ? {
              ok: false,
              error: ownErrorPayload(error),
              thrown: error,
              // Past the drain timeout the caller waited in vain: a 504. A process that exits: a 500.
              timedOut: error.code === 'DRAINING',
            }
          : // It never ran: the draining 503, which the caller may safely retry elsewhere.
            { ok: false, error: ownErrorPayload(neverRan), thrown: neverRan },
      ),
    async cleanUp() {
      app.server.closeAllConnections();
    },
  });
}
