import {
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';

// grpc.health.v1 (https://github.com/grpc/grpc/blob/master/doc/health-checking.md). Its two messages
// are one field each, so they are encoded here by hand instead of shipping a .proto with the runtime:
//   message HealthCheckRequest { string service = 1; }
//   message HealthCheckResponse { ServingStatus status = 1; }  // UNKNOWN 0, SERVING 1, NOT_SERVING 2
export type ServingStatus = 'SERVING' | 'NOT_SERVING';
const STATUS_NUMBER: Record<ServingStatus | 'SERVICE_UNKNOWN', number> = {
  SERVING: 1,
  NOT_SERVING: 2,
  SERVICE_UNKNOWN: 3,
};

function decodeRequest(bytes: Buffer): { service: string } {
  let offset = 0;
  let service = '';
  while (offset < bytes.length) {
    const tag = bytes[offset++]!;
    const [length, next] = readVarint(bytes, offset);
    offset = next;
    if (tag === 0x0a) service = bytes.toString('utf8', offset, offset + length);
    if ((tag & 7) === 2) offset += length;
  }
  return { service };
}

function readVarint(bytes: Buffer, start: number): [number, number] {
  let value = 0;
  let shift = 0;
  let offset = start;
  for (;;) {
    const byte = bytes[offset++] ?? 0;
    value |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0 || offset >= bytes.length) return [value, offset];
    shift += 7;
  }
}

const encodeResponse = (response: { status: number }) => Buffer.from([0x08, response.status]);

const definition: ServiceDefinition = {
  Check: {
    path: '/grpc.health.v1.Health/Check',
    requestStream: false,
    responseStream: false,
    requestSerialize: () => Buffer.alloc(0),
    requestDeserialize: decodeRequest,
    responseSerialize: encodeResponse,
    responseDeserialize: () => ({}),
  },
  Watch: {
    path: '/grpc.health.v1.Health/Watch',
    requestStream: false,
    responseStream: true,
    requestSerialize: () => Buffer.alloc(0),
    requestDeserialize: decodeRequest,
    responseSerialize: encodeResponse,
    responseDeserialize: () => ({}),
  },
};

/**
 * The standard gRPC health service (`grpc.health.v1.Health`, what Kubernetes' `grpc` probe and
 * `grpc_health_probe` call): `SERVING` while the function is ready, `NOT_SERVING` before its resources
 * are open, while one is down, and while it drains. `""` and the function's own service are known;
 * any other name is `NOT_FOUND` (Check) or `SERVICE_UNKNOWN` (Watch).
 *
 * @example
 * const health = createHealthService('users.v1.Users');
 * server.addService(health.definition, health.implementation);
 * health.set('SERVING');
 */
export function createHealthService(service: string) {
  let current: ServingStatus = 'NOT_SERVING';
  const watchers = new Set<ServerWritableStream<{ service: string }, { status: number }>>();
  const known = (name: string) => name === '' || name === service;
  return {
    definition,
    implementation: {
      Check(call: ServerUnaryCall<{ service: string }, unknown>, callback: sendUnaryData<unknown>) {
        if (!known(call.request.service)) {
          return callback({ code: status.NOT_FOUND, details: `unknown service '${call.request.service}'` });
        }
        callback(null, { status: STATUS_NUMBER[current] });
      },
      Watch(call: ServerWritableStream<{ service: string }, { status: number }>) {
        if (!known(call.request.service)) {
          call.write({ status: STATUS_NUMBER.SERVICE_UNKNOWN });
          return;
        }
        call.write({ status: STATUS_NUMBER[current] });
        watchers.add(call);
        call.on('cancelled', () => watchers.delete(call));
        call.on('close', () => watchers.delete(call));
      },
    },
    status: () => current,
    set(next: ServingStatus) {
      if (next === current) return;
      current = next;
      for (const watcher of watchers) watcher.write({ status: STATUS_NUMBER[next] });
    },
    /** Ends every Watch stream (at shutdown). */
    close() {
      for (const watcher of watchers) watcher.end();
      watchers.clear();
    },
  };
}
