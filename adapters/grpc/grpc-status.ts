import { Metadata, type StatusObject, status } from '@grpc/grpc-js';
import type { Outcome } from '../../runtime/invoke.js';

type Failure = Extract<Outcome, { ok: false }>;

/**
 * The status a failed invocation answers: a thrown error's own gRPC `code` (1–16) with its message —
 * the handler chose to tell the caller that (justfn's own refusals may add a retry pushback); `DEADLINE_EXCEEDED` past the deadline; otherwise
 * `INTERNAL` with no detail of the error, unless `JUSTFN_EXPOSE_ERRORS=1` asked for it.
 *
 * @example
 * callback(toStatus(outcome, false, requestId));
 */
export function toStatus(outcome: Failure, expose: boolean, requestId: string): Partial<StatusObject> {
  const thrown = outcome.thrown as
    | { code?: unknown; message?: unknown; pushbackMs?: number }
    | null
    | undefined;
  const metadata = new Metadata();
  metadata.set('x-request-id', requestId);
  // gRPC's retry pushback: how long a client's retry policy waits before trying again.
  if (thrown?.pushbackMs !== undefined) metadata.set('grpc-retry-pushback-ms', String(thrown.pushbackMs));
  const code = thrown?.code;
  if (typeof code === 'number' && Number.isInteger(code) && code >= 1 && code <= 16) {
    return { code, details: typeof thrown?.message === 'string' ? thrown.message : status[code], metadata };
  }
  if (outcome.timedOut) return { code: status.DEADLINE_EXCEEDED, details: 'Deadline exceeded', metadata };
  const details = expose ? `${outcome.error.errorType}: ${outcome.error.errorMessage}` : 'Internal error';
  return { code: status.INTERNAL, details, metadata };
}

/** The codes gRPC defines as the request's fault, its 4xx: the handler answered the caller as it meant to. */
const CALLER_FAULTS: ReadonlySet<unknown> = new Set([
  status.INVALID_ARGUMENT,
  status.NOT_FOUND,
  status.ALREADY_EXISTS,
  status.PERMISSION_DENIED,
  status.FAILED_PRECONDITION,
  status.OUT_OF_RANGE,
  status.UNAUTHENTICATED,
]);

/**
 * The status of a failure the handler chose to answer with (it threw an error whose `code` is one of the
 * caller's faults: `NOT_FOUND`, `INVALID_ARGUMENT`, …), which is a normal answer, not a server error, as an
 * HTTP handler's 404 is; `undefined` for anything else.
 *
 * @example
 * callerFault({ ok: false, thrown: Object.assign(new Error('no such user'), { code: 5 }), error }); // 5
 */
export function callerFault(outcome: Failure): number | undefined {
  const code = (outcome.thrown as { code?: unknown } | null | undefined)?.code;
  return !outcome.timedOut && CALLER_FAULTS.has(code) ? (code as number) : undefined;
}
