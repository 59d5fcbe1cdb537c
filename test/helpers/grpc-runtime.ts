import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { cleanEnv, fixtures, runtimeCommand, spawnCaptured } from './process.js';

export const greeterDir = path.join(fixtures, 'grpc', 'greeter');

/** A service a test calls: its .proto and its full name. */
export interface GrpcService {
  proto: string;
  service: string;
}

const greeter: GrpcService = { proto: path.join(greeterDir, 'greeter.proto'), service: 'greet.v1.Greeter' };

/**
 * The real bootstrap serving a gRPC function on a free port (or `env.PORT`), and a client generated from
 * the same .proto: the greeter fixture unless told otherwise.
 */
export async function startGrpcRuntime(
  env: Record<string, string> = {},
  taskRoot = greeterDir,
  { proto, service }: GrpcService = greeter,
) {
  const spawned = spawnCaptured(
    runtimeCommand,
    cleanEnv({
      PORT: '0',
      JUSTFN_HOST: '127.0.0.1',
      JUSTFN_METRICS_PORT: '0',
      LAMBDA_TASK_ROOT: taskRoot,
      ...env,
    }),
  );
  await spawned.waitForOutput(/justfn is serving gRPC/);
  const port = Number(/"port":(\d+)/.exec(spawned.stdout())![1]);
  const definition: grpc.GrpcObject = grpc.loadPackageDefinition(
    loadSync(proto, { keepCase: true, defaults: true }),
  );
  const Client = service
    .split('.')
    .reduce(
      (scope, name) => scope[name] as grpc.GrpcObject,
      definition,
    ) as unknown as grpc.ServiceClientConstructor;
  const connect = () => new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const client = connect();
  const unary = (
    method: string,
    request: object,
    options: grpc.CallOptions = {},
    metadata = new grpc.Metadata(),
  ) =>
    new Promise<{ value?: Record<string, unknown>; error?: grpc.ServiceError; trailer?: grpc.Metadata }>(
      (resolve) => {
        // The answer is complete with both the callback and the status (which carries the trailer).
        let answer: { value?: Record<string, unknown>; error?: grpc.ServiceError } | undefined;
        let trailer: grpc.Metadata | undefined;
        const settle = () => answer && trailer && resolve({ ...answer, trailer });
        const call = (client[method] as Function).call(
          client,
          request,
          metadata,
          options,
          (error: grpc.ServiceError | null, value: Record<string, unknown>) => {
            answer = error ? { error } : { value };
            settle();
          },
        );
        call.on('status', (status: grpc.StatusObject) => {
          trailer = status.metadata;
          settle();
        });
      },
    );
  const logs = () =>
    spawned
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    port,
    process: spawned,
    client,
    /** Another client of its own (a channel, its own connection): close it when done. */
    connect,
    unary,
    logs,
    async stop() {
      client.close();
      await spawned.kill();
    },
  };
}

/** `grpc.health.v1.Health/Check` through a generic client: the status name, or the error code. */
export function healthCheck(port: number, service = ''): Promise<string | number> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const names = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (value: { service: string }) =>
        Buffer.concat([Buffer.from([0x0a, Buffer.byteLength(value.service)]), Buffer.from(value.service)]),
      (bytes: Buffer) => names[bytes[1] ?? 0] ?? 'UNKNOWN',
      { service },
      (error, value) => {
        client.close();
        resolve(error ? error.code : (value as string));
      },
    );
  });
}

/**
 * `grpc.health.v1.Health/Watch` through a generic client: every status it is sent, as numbers (1
 * SERVING, 2 NOT_SERVING, 3 SERVICE_UNKNOWN).
 */
export function watchHealth(port: number, service = ''): { statuses: number[]; close(): void } {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  // A HealthCheckRequest is field 1, a string; each HealthCheckResponse field 1, a varint: [0x08, status].
  const watch = client.makeServerStreamRequest(
    '/grpc.health.v1.Health/Watch',
    (value: { service: string }) =>
      Buffer.concat([Buffer.from([0x0a, Buffer.byteLength(value.service)]), Buffer.from(value.service)]),
    (bytes: Buffer) => bytes[1] ?? 0,
    { service },
  );
  const statuses: number[] = [];
  watch.on('data', (status: number) => statuses.push(status));
  watch.on('error', () => {});
  return {
    statuses,
    close() {
      watch.cancel();
      client.close();
    },
  };
}
