import type { ServiceDefinition } from '@grpc/grpc-js';

const MALFORMED = Symbol('justfn.malformedRequest');

/**
 * The service definition with request decoding that never throws: grpc-js answers a request it cannot
 * decode with `INTERNAL`, a server fault that callers may retry; the fault is the caller's. A request
 * that does not decode becomes a marker that {@link malformedReason} recognises, and the call answers
 * `INVALID_ARGUMENT` naming the problem.
 *
 * @example
 * server.addService(tolerateMalformed(definition), createGrpcCalls(definition, options));
 */
export function tolerateMalformed(definition: ServiceDefinition): ServiceDefinition {
  return Object.fromEntries(
    Object.entries(definition).map(([method, spec]) => [
      method,
      {
        ...spec,
        requestDeserialize: (bytes: Buffer) => {
          try {
            return spec.requestDeserialize(bytes);
          } catch (error) {
            return { [MALFORMED]: (error as Error).message };
          }
        },
      },
    ]),
  );
}

/** Why a request did not decode, or `undefined` for a request that did. */
export function malformedReason(request: unknown): string | undefined {
  return (request as { [MALFORMED]?: string } | null)?.[MALFORMED];
}
