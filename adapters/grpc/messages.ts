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
            checkFieldLengths(bytes);
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

/**
 * Throws when a top-level field runs past the end of the message. protobufjs reads a string field of a
 * Node `Buffer` up to the end of what is there (`BufferReader#string` clamps its length to the buffer's),
 * so a message cut short (`0a 50 41`: 80 bytes announced, one sent) decoded as a shorter one and the
 * handler ran on it. A cut anywhere leaves the top-level field around it running past the end, so the
 * top level is enough; the message is protobufjs's own for the same fault elsewhere.
 */
function checkFieldLengths(bytes: Buffer): void {
  let at = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      const byte = bytes[at++];
      if (byte === undefined) return Number.POSITIVE_INFINITY;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    return Number.POSITIVE_INFINITY;
  };
  while (at < bytes.length) {
    const wireType = varint() % 8;
    // Varints and groups have no length to check; an invalid wire type is protobufjs's to refuse.
    const length = wireType === 1 ? 8 : wireType === 5 ? 4 : wireType === 2 ? varint() : 0;
    if (wireType === 0) varint();
    else if (wireType > 5) return;
    // A varint that never ends, likewise.
    if (!Number.isFinite(length)) return;
    if (at + length > bytes.length) {
      throw new Error(`index out of range: ${at} + ${length} > ${bytes.length}`);
    }
    at += length;
  }
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
