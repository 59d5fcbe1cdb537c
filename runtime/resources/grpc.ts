import { dirname, resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { GrpcResourceConfig } from '../config/service-config.js';
import type { Resource, ResourceContext } from './resource.js';
import type { GrpcClient } from './resources-of.js';

/**
 * Channel options for clients in containers and on Lambda.
 * - Servers in Go and C++ answer pings more frequent than every 5 minutes, or any ping while no call is
 *   active, with GOAWAY `too_many_pings`; so keepalive pings run every 5 minutes and only during calls.
 * - An idle channel drops its connection after 4 minutes, below the 350 s idle timeout of AWS NLBs and
 *   similar middleboxes (grpc-node#2285): the next call reconnects instead of writing into a connection
 *   that a middlebox has silently forgotten.
 *
 * @example
 * new Client(target, grpc.credentials.createInsecure(), grpcChannelOptions);
 */
export const grpcChannelOptions: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': 300_000,
  'grpc.keepalive_timeout_ms': 20_000,
  'grpc.keepalive_permit_without_calls': 0,
  'grpc.client_idle_timeout_ms': 240_000,
  // grpc-js backs off up to 120 s between reconnects; a dependency back after an outage should be used
  // (and readiness turn 200) within about a second, as PostgreSQL and HTTP resources are, not minutes later.
  'grpc.max_reconnect_backoff_ms': 1_000,
  // Statistics for a channelz debugging service that nothing serves: a tracker on every call.
  'grpc.enable_channelz': 0,
};

/**
 * A `Metadata` made with the function's own `@grpc/grpc-js` passes for one of this copy's (justfn bundles
 * its own): grpc-js tells a call's optional arguments apart with `instanceof`, and refused the call with
 * "Incorrect arguments passed". Both copies' `Metadata` keep the same shape, which is checked.
 */
const ownInstance = Function.prototype[Symbol.hasInstance];
Object.defineProperty(grpc.Metadata, Symbol.hasInstance, {
  value(this: typeof grpc.Metadata, value: unknown): boolean {
    if (ownInstance.call(this, value)) return true;
    const other = value as (Partial<grpc.Metadata> & { internalRepr?: unknown }) | null;
    return (
      this === grpc.Metadata &&
      typeof other === 'object' &&
      other !== null &&
      other.constructor?.name === 'Metadata' &&
      other.internalRepr instanceof Map &&
      typeof other.getMap === 'function' &&
      typeof other.toHttp2Headers === 'function' &&
      typeof other.clone === 'function'
    );
  },
});

/**
 * Loads `proto` and returns the client constructor for the fully-qualified `service` in it; `import`s
 * resolve from the file's directory, then `includeDirs`. Throws an Error saying which services the file
 * does have when `service` is not one of them.
 *
 * @example
 * const Auth = loadGrpcService('/var/task/protos/auth.proto', 'auth.v1.Auth');
 * const client = new Auth('auth:50051', grpc.credentials.createInsecure());
 */
export function loadGrpcService(
  proto: string,
  service: string,
  includeDirs: readonly string[] = [],
): grpc.ServiceClientConstructor {
  const definition = loadSync(proto, {
    // The options grpc-js's own examples use: field names as in the .proto, 64-bit integers and enums as
    // strings, defaults and oneof names filled in.
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [dirname(proto), ...includeDirs],
  });
  const found = definition[service];
  if (!found || 'format' in found) {
    const services = Object.entries(definition)
      .filter(([, value]) => !('format' in value))
      .map(([key]) => key);
    throw new Error(
      `service '${service}' is not in ${proto} (services there: ${services.join(', ') || 'none'})`,
    );
  }
  return grpc.makeGenericClientConstructor(found, service);
}

/**
 * `kind: grpc`: a client for one service, on a plaintext (h2c) channel to `target`.
 *
 * - `open` and `check` make the channel connect (`getConnectivityState(true)`) and wait until it is READY.
 * - `refresh` (after a freeze) builds a new channel and closes the old one: a channel can still say READY
 *   after a freeze while its connection is dead, and the first call then fails with UNAVAILABLE
 *   (grpc-node#2285); keepalive cannot notice it, because it did not run while frozen.
 *
 * @example
 * const auth = createGrpcResource({ kind: 'grpc', target: 'auth:50051', proto: 'auth.proto', service: 'auth.v1.Auth' }, context);
 * await auth.open(signal);
 * auth.client.Check({ token }, (err, reply) => {});
 */
export function createGrpcResource(
  config: GrpcResourceConfig,
  context: ResourceContext,
): Resource<GrpcClient> {
  const Client = loadGrpcService(resolve(context.baseDir, config.proto), config.service, [context.baseDir]);
  const connect = () => new Client(config.target, grpc.credentials.createInsecure(), grpcChannelOptions);
  let client = connect();
  let closed = false;

  return {
    get client() {
      return client;
    },
    target: `${config.service} at ${config.target}`,
    open: () => waitReady(client, context.timeoutMs),
    check: () => waitReady(client, context.timeoutMs),
    // Before an invocation (after an idle gap): a connection refused is the answer, not a reason to keep
    // that invocation waiting out the whole timeout.
    refresh: async () => {
      const stale = client;
      client = connect();
      stale.close();
      await waitReady(client, context.timeoutMs, true);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      client.close();
    },
  };
}

/**
 * Starts connecting and resolves once the channel is READY; rejects after `timeoutMs`, or when closed,
 * with the channel's state and, when it is failing, why (`connect ECONNREFUSED`, a name that does not
 * resolve): what an operator needs to tell a service that is down from a wrong address. With `failFast`,
 * rejects as soon as a connection attempt fails (TRANSIENT_FAILURE) instead of waiting for a later one.
 */
function waitReady(client: grpc.Client, timeoutMs: number, failFast = false): Promise<void> {
  const channel = client.getChannel();
  const deadline = Date.now() + timeoutMs;
  let settled = false;
  return new Promise((resolve, reject) => {
    const state = channel.getConnectivityState(true);
    if (state === grpc.connectivityState.READY) return resolve();
    const watch = (from: grpc.connectivityState) => {
      if (from === grpc.connectivityState.TRANSIENT_FAILURE) {
        settled = true;
        failureReason(client).then((reason) =>
          reject(new Error(`channel failed to connect (state TRANSIENT_FAILURE: ${reason})`)),
        );
        return;
      }
      if (from === grpc.connectivityState.READY || from === grpc.connectivityState.SHUTDOWN) return;
      channel.watchConnectivityState(from, deadline, (error) => {
        if (!error && !settled) watch(channel.getConnectivityState(false));
      });
    };
    if (failFast) watch(state);
    client.waitForReady(deadline, (error) => {
      if (settled) return;
      settled = true;
      if (!error) return resolve();
      let state: string;
      try {
        state = grpc.connectivityState[channel.getConnectivityState(false)];
      } catch {
        state = 'SHUTDOWN';
      }
      const notReady = `channel not READY within ${timeoutMs} ms (state ${state}`;
      if (state !== 'TRANSIENT_FAILURE') return reject(new Error(`${notReady})`));
      failureReason(client).then((reason) => reject(new Error(`${notReady}: ${reason})`)));
    });
  });
}

/**
 * Why a channel in TRANSIENT_FAILURE fails. grpc-js keeps the last connection error only for the calls it
 * fails: a call with no `waitForReady` fails at once with it, and reaches no server.
 */
function failureReason(client: grpc.Client): Promise<string> {
  const bytes = (buffer: Buffer) => buffer;
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/justfn.ConnectionProbe/Probe',
      bytes,
      bytes,
      Buffer.alloc(0),
      { deadline: Date.now() + 200 },
      (error) => resolve((error?.details ?? 'unknown').replace(/\. Resolution note: ?$/, '')),
    );
  });
}
