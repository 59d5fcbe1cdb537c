import { status } from '@grpc/grpc-js';
import { JustfnError } from '../../runtime/errors.js';
import { describeHandler, type LoadedHandler } from '../../runtime/handler-loader.js';
import type { GrpcEvent } from '../../runtime/handler-types.js';

/** What a gRPC call becomes: the handler's event (public: `justfn`'s `GrpcEvent`). */
export type { GrpcEvent };

/** A method the handler does not implement: `UNIMPLEMENTED`, as a missing method on a gRPC server. */
export class UnimplementedError extends Error {
  readonly code = status.UNIMPLEMENTED;
  override name = 'UnimplementedError';
}

/**
 * The handler string of a gRPC function names either one function, called for every method with a
 * {@link GrpcEvent}, or an object of functions keyed by method name, each `(request, context) =>
 * response`. Both become one loop handler taking the event, so the loop stays the same.
 *
 * @example
 * // export const users = { GetUser: async ({ id }, context) => ({ id, name: 'Ada' }) };
 * const handler = toGrpcHandler(usersObject, 'index.users');
 */
export function toGrpcHandler(exported: unknown, name: string): LoadedHandler {
  if (typeof exported === 'function') return describeHandler(exported as LoadedHandler['fn'], name);
  if (typeof exported !== 'object' || exported === null) {
    throw new JustfnError('HANDLER_NOT_FOUND', `${name} is not a function or an object of functions`);
  }
  const methods = exported as Record<string, unknown>;
  const dispatch = (event: GrpcEvent, context: unknown) => {
    const method = methods[event.method];
    if (typeof method !== 'function') {
      throw new UnimplementedError(`${event.service}/${event.method} is not implemented by ${name}`);
    }
    return method.call(methods, event.request, context);
  };
  return { fn: dispatch as LoadedHandler['fn'], kind: 'promise', name };
}
