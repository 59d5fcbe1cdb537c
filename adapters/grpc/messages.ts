import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { safeString } from '../../runtime/errors.js';

const MALFORMED = Symbol('justfn.malformedRequest');

/** A response already encoded by {@link encodeResponse}: grpc-js sends its bytes as they are. */
class Encoded {
  constructor(readonly bytes: Buffer) {}
}

/**
 * The service definition as the server needs it. Request decoding never throws: grpc-js answers a
 * request it cannot decode with `INTERNAL`, a server fault that callers may retry; the fault is the
 * caller's. A request that does not decode becomes a marker that {@link malformedReason} recognises, and
 * the call answers `INVALID_ARGUMENT` naming the problem. Responses arrive encoded ({@link encodeResponse}),
 * so that one that cannot be encoded fails where the call can still answer with its request id, log and
 * count it; grpc-js would answer a bare `INTERNAL` and the call would pass for a success.
 *
 * @example
 * server.addService(serverDefinition(definition), createGrpcCalls(definition, options));
 */
export function serverDefinition(definition: ServiceDefinition): ServiceDefinition {
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
        responseSerialize: (value: unknown) =>
          value instanceof Encoded ? value.bytes : spec.responseSerialize(value),
      },
    ]),
  );
}

/** Why a request did not decode, or `undefined` for a request that did. */
export function malformedReason(request: unknown): string | undefined {
  return (request as { [MALFORMED]?: string } | null)?.[MALFORMED];
}

/**
 * A handler's response encoded for a server built with {@link serverDefinition}; throws an error naming
 * the method when the value is not a message of the method's response type.
 *
 * @example
 * callback(null, encodeResponse(spec, 'SayHello', { message: 'hi' }));
 */
export function encodeResponse(
  spec: MethodDefinition<unknown, unknown>,
  method: string,
  value: unknown,
): unknown {
  try {
    return new Encoded(spec.responseSerialize(value));
  } catch (error) {
    throw new Error(
      `${method}: the handler's answer is not a valid response message (${safeString(error)})`,
      {
        cause: error,
      },
    );
  }
}
