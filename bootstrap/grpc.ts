import path from 'node:path';
import { Server, ServerCredentials, setLogger, status } from '@grpc/grpc-js';
import { createGrpcCalls } from '../adapters/grpc/grpc-calls.js';
import { toGrpcHandler } from '../adapters/grpc/grpc-handler.js';
import { createHealthService } from '../adapters/grpc/health.js';
import { serverDefinition } from '../adapters/grpc/messages.js';
import { resolveExport } from '../runtime/handler-loader.js';
import { loadGrpcService } from '../runtime/resources/grpc.js';
import type { RegistryHealth } from '../runtime/resources/resource-registry.js';
import type { InvocationScope } from '../runtime/scope.js';
import { ownErrorPayload } from './drain.js';
import { createRuntimeLog } from './runtime-log.js';
import type { Service, ServiceStart } from './service.js';
import { cannotListen, describeFunction, localArn, openServing, readiness } from './serving.js';

/** As the HTTP port's keep-alive: how long a connection may stay without a call in flight. */
const IDLE_CONNECTION_MS = 65_000;

/**
 * gRPC mode: `justfn.yaml` has a `grpc: { proto, service }` block, so `$PORT` serves that service over
 * h2c with @grpc/grpc-js. Each call is an invocation of the same loop, with the same context, deadline
 * (the call's, capped by `JUSTFN_TIMEOUT`), logs, metrics, resources, readiness
 * (`grpc.health.v1.Health`) and drain.
 */
export async function startGrpc(
  start: ServiceStart,
  service: Service,
  scope: InvocationScope,
): Promise<void> {
  const { options } = service;
  const grpcConfig = service.config!.config.grpc!;
  const functionInfo = describeFunction(options);
  const log = createRuntimeLog(options, scope, functionInfo.functionName);

  let handler: ReturnType<typeof toGrpcHandler>;
  let definition: ReturnType<typeof loadGrpcService>['service'];
  try {
    const baseDir = service.config!.baseDir;
    definition = loadGrpcService(path.resolve(baseDir, grpcConfig.proto), grpcConfig.service, [
      baseDir,
    ]).service;
    const exported = await resolveExport(service.handler, {
      taskRoot: service.taskRoot,
      importModule: start.importModule,
    });
    handler = toGrpcHandler(exported, service.handler);
  } catch (error) {
    log.fatal(
      { err: error, handler: service.handler, proto: grpcConfig.proto },
      'Init Error: the gRPC service cannot be served',
    );
    process.exit(1);
  }

  // Read only once the server listens, after the queue below exists.
  const health = createHealthService(grpcConfig.service, () => source.liveness().live);
  let draining = false;
  // Every slot held by a handler running past its deadline: NOT_SERVING until one ends.
  let stuck = false;
  const serving = (state: RegistryHealth) => {
    if (!draining) health.set(readiness(state, false, stuck).ready ? 'SERVING' : 'NOT_SERVING');
  };
  const { registry, source, metrics, serve } = await openServing(
    service,
    log,
    { handler, functionInfo, scope },
    {
      onState: serving,
      // Called only once calls run, after `registry` is set.
      onStuck: (now) => {
        stuck = now;
        serving(registry.health());
      },
      // A Watch of `liveness` is told as it turns.
      onLiveness: () => health.livenessChanged(),
    },
  );
  const server = new Server({
    'grpc.max_receive_message_length': options.maxBody,
    // Channelz keeps per-call and per-connection statistics for its debugging service, which justfn does
    // not serve; the invocation metrics count calls instead. Off, a call skips its trackers (closures and
    // clock reads on every call).
    'grpc.enable_channelz': 0,
    // A connection with no call in flight is closed (GOAWAY; clients reconnect for their next call) after
    // the HTTP port's keep-alive time, or the body timeout if shorter: one that never sent a byte held a
    // file descriptor for ever.
    'grpc.max_connection_idle_ms': Math.min(IDLE_CONNECTION_MS, options.bodyTimeout * 1000),
  });
  server.addService(health.definition, health.implementation);
  server.addService(
    serverDefinition(definition),
    createGrpcCalls(definition, {
      service: grpcConfig.service,
      timeout: options.timeout,
      invokedFunctionArn: localArn(functionInfo.functionName),
      exposeErrors: options.exposeErrors,
      scope,
      log,
      metrics,
      submit: (invocation) => source.submit(invocation),
    }),
  );
  // grpc-js logs a failed bind itself, at error level; cannotListen says it once, and why. Its logger,
  // not its verbosity, is swapped for the bind: GRPC_VERBOSITY stays the user's.
  setLogger({ error() {} });
  const port = await new Promise<number>((resolve) =>
    server.bindAsync(
      // An IPv6 address (JUSTFN_HOST=::1) goes in brackets, or its colons read as the port's.
      `${options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host}:${options.port}`,
      ServerCredentials.createInsecure(),
      (error, bound) => {
        if (error) cannotListen(log, options, error);
        setLogger(console);
        resolve(bound);
      },
    ),
  );
  serving(registry.health());
  log.info(
    {
      port,
      handler: handler.name,
      grpcService: grpcConfig.service,
      concurrency: options.concurrency,
      revision: options.functionVersion,
    },
    `justfn is serving gRPC ${grpcConfig.service} (${handler.name}) on ${options.host}:${port}`,
  );
  let closed: Promise<void> = Promise.resolve();
  // Streams cut off at the drain timeout, until their handlers' iterators have closed (their `finally` run).
  const cut: Promise<void>[] = [];
  serve('grpc', {
    onExit: 'the calls accepted end with the connections (their callers see UNAVAILABLE)',
    stopAccepting: () => {
      draining = true;
      health.set('NOT_SERVING');
      // New calls are refused from here; calls in flight go on, and their answers are flushed before the
      // connections close (forcing them closed at once would cancel answers still being written).
      closed = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
    // A call that never ran is UNAVAILABLE, which clients retry; one cut off while it ran is ABORTED,
    // which they do not: its handler may have done part of its work.
    abandon: (invocation, error, running) => {
      const closing = invocation.respond({
        ok: false,
        error: ownErrorPayload(error),
        thrown: running
          ? { code: status.ABORTED, message: 'the server shut down while the call was running' }
          : { code: status.UNAVAILABLE, message: 'the server is shutting down' },
      });
      if (closing) cut.push(closing);
    },
    async cleanUp() {
      health.close();
      await Promise.race([
        Promise.all([closed, ...cut]),
        new Promise((resolve) => setTimeout(resolve, 2_000).unref()),
      ]);
      server.forceShutdown();
    },
  });
}
