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
