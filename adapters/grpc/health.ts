import {
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { LIVENESS_SERVICE } from './liveness.js';

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

interface HealthRequest {
  service: string;
  /** The bytes are not a HealthCheckRequest: answered INVALID_ARGUMENT. */
  malformed?: true;
}

/**
 * A HealthCheckRequest from anyone who can reach the port: every length is checked against the bytes
 * (a varint is at most 10 bytes, read without 32-bit shifts that turn negative), unknown fields of every
 * wire type are skipped, and whatever does not decode is `malformed` rather than a throw.
 */
function decodeRequest(bytes: Buffer): HealthRequest {
  const malformed: HealthRequest = { service: '', malformed: true };
  let offset = 0;
  let service = '';
  while (offset < bytes.length) {
    const tag = readVarint(bytes, offset);
    if (!tag) return malformed;
    offset = tag.next;
    const wireType = tag.value % 8;
    if (wireType === 0) {
      const skipped = readVarint(bytes, offset);
      if (!skipped) return malformed;
      offset = skipped.next;
    } else if (wireType === 1 || wireType === 5) {
      offset += wireType === 1 ? 8 : 4;
    } else if (wireType === 2) {
      const length = readVarint(bytes, offset);
      if (!length || length.next + length.value > bytes.length) return malformed;
      if (tag.value === 0x0a) service = bytes.toString('utf8', length.next, length.next + length.value);
      offset = length.next + length.value;
    } else {
      return malformed;
    }
  }
  return offset === bytes.length ? { service } : malformed;
}

function readVarint(bytes: Buffer, start: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    const byte = bytes[start + i];
    if (byte === undefined) return undefined;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return { value, next: start + i + 1 };
  }
  return undefined;
}

const invalid = (method: string) => ({
  code: status.INVALID_ARGUMENT,
  details: `grpc.health.v1.Health/${method}: the request is not a HealthCheckRequest`,
});

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
 * are open, while one is down, and while it drains. `""` and the function's own service are known, and
 * {@link LIVENESS_SERVICE}, `SERVING` while `live()` says so (read at each Check, at a Watch's start and
 * whenever `livenessChanged()` is called); any other name is `NOT_FOUND` (Check) or `SERVICE_UNKNOWN`
 * (Watch). A Watch is sent each change of its service's status.
 *
 * @example
 * const health = createHealthService('users.v1.Users');
 * server.addService(health.definition, health.implementation);
 * health.set('SERVING');
 */
export function createHealthService(service: string, live: () => boolean = () => true) {
  let current: ServingStatus = 'NOT_SERVING';
  // Each Watch, with the status it was sent last.
  const watchers = new Map<ServerWritableStream<HealthRequest, { status: number }>, number>();
  const tell = (watcher: ServerWritableStream<HealthRequest, { status: number }>, status: number) => {
    if (watchers.get(watcher) === status) return;
    watchers.set(watcher, status);
    watcher.write({ status });
  };
  const known = (name: string) => name === '' || name === service || name === LIVENESS_SERVICE;
  const statusOf = (name: string) =>
    STATUS_NUMBER[name !== LIVENESS_SERVICE ? current : live() ? 'SERVING' : 'NOT_SERVING'];
  return {
    definition,
    implementation: {
      Check(call: ServerUnaryCall<HealthRequest, unknown>, callback: sendUnaryData<unknown>) {
        if (call.request.malformed) return callback(invalid('Check'));
        if (!known(call.request.service)) {
          return callback({ code: status.NOT_FOUND, details: `unknown service '${call.request.service}'` });
        }
        callback(null, { status: statusOf(call.request.service) });
      },
      Watch(call: ServerWritableStream<HealthRequest, { status: number }>) {
        if (call.request.malformed) return void call.emit('error', invalid('Watch'));
        if (!known(call.request.service)) {
          call.write({ status: STATUS_NUMBER.SERVICE_UNKNOWN });
          return;
        }
        const status = statusOf(call.request.service);
        call.write({ status });
        watchers.set(call, status);
        call.on('cancelled', () => watchers.delete(call));
        call.on('close', () => watchers.delete(call));
      },
    },
    status: () => current,
    set(next: ServingStatus) {
      if (next === current) return;
      current = next;
      for (const watcher of watchers.keys()) {
        if (watcher.request.service !== LIVENESS_SERVICE) tell(watcher, STATUS_NUMBER[next]);
      }
    },
    /** `live()` may say otherwise now: the Watches of {@link LIVENESS_SERVICE} are told if it does. */
    livenessChanged() {
      for (const watcher of watchers.keys()) {
        if (watcher.request.service === LIVENESS_SERVICE) tell(watcher, statusOf(LIVENESS_SERVICE));
      }
    },
    /** Ends every Watch stream (at shutdown). */
    close() {
      for (const watcher of watchers.keys()) watcher.end();
      watchers.clear();
    },
  };
}
