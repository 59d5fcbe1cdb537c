import {
  Metadata,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type sendUnaryData,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { type InvocationInfo, type LambdaContext, pastDeadline } from '../../runtime/context.js';
import { type ErrorPayload, JustfnError, safeString, toErrorPayload } from '../../runtime/errors.js';
import { type Outcome, timeoutError } from '../../runtime/invoke.js';
import { failureFields } from '../../runtime/logging/json-log.js';
import type { QueuedInvocation } from '../../runtime/loop.js';
import type { MetricsRecorder } from '../../runtime/metrics-recorder.js';
import { newRequestId } from '../../runtime/request-id.js';
import type { InvocationScope } from '../../runtime/scope.js';
import type { GrpcEvent } from './grpc-handler.js';
import { callerFault, toStatus } from './grpc-status.js';
import { encodeResponse, malformedReason } from './messages.js';

export interface GrpcCallOptions {
  /** Fully-qualified service name. */
  service: string;
  /** Seconds: the longest an invocation may take, whatever deadline the client sets. */
  timeout: number;
  invokedFunctionArn: string;
  exposeErrors: boolean;
  scope: InvocationScope;
  log: { error(fields: object, message: string): void; info(fields: object, message: string): void };
  metrics: MetricsRecorder;
  /** Hands an invocation to a loop; false when the queue is full or draining. */
  submit(invocation: QueuedInvocation): boolean;
}

/**
 * The service implementation grpc-js calls: every unary or server-streaming call becomes an invocation
 * of the same loop, with the call's deadline as the invocation's deadline. Client and bidirectional
 * streaming methods answer `UNIMPLEMENTED`.
 *
 * @example
 * server.addService(definition, createGrpcCalls(definition, options));
 */
export function createGrpcCalls(
  definition: ServiceDefinition,
  options: GrpcCallOptions,
): UntypedServiceImplementation {
  const calls: UntypedServiceImplementation = {};
  for (const [method, spec] of Object.entries(definition)) {
    const encode: Encode = (value) => encodeResponse(spec, method, value);
    if (spec.requestStream) {
      calls[method] = (_call: unknown, callback?: sendUnaryData<unknown>) => {
        const error = { code: status.UNIMPLEMENTED, details: `${method}: client streaming is not supported` };
        if (callback) callback(error);
        else (_call as ServerWritableStream<unknown, unknown>).emit('error', error);
      };
    } else if (spec.responseStream) {
      calls[method] = (call: ServerWritableStream<unknown, unknown>) =>
        serve(method, call, options, streamTo(call, encode));
    } else {
      calls[method] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) =>
        serve(method, call, options, unaryTo(callback, encode));
    }
  }
  return calls;
}

/**
 * Writes an outcome as the call's answer, and returns what failed only then (a unary value that is no
 * message, a stream that throws, outlives its deadline, is cancelled or cut off by the drain), if anything
 * did.
 */
type Answer = (
  outcome: Outcome,
  requestId: string,
  options: GrpcCallOptions,
  hold?: StreamHold,
) => LateFailure | undefined | Promise<LateFailure | undefined>;

type Failure = Extract<Outcome, { ok: false }>;

/** What a stream is held to once its handler returned it. */
interface StreamHold {
  deadlineMs: number;
  /** The time the call was given, which a timeout names. */
  budgetMs: number;
  /** The invocation's: its signal's timer may pass the deadline first (`pastDeadline`). */
  context: LambdaContext<object> | undefined;
  /** Told when the stream was cut at its deadline while the handler's generator runs on. */
  overran: ((running: Promise<unknown>) => void) | undefined;
  /** Whether a cancel is the caller's, not its deadline's (one in the budget's last tenth). */
  cancelledByCaller: () => boolean;
  /** Set while the stream is written: cuts it off, with the failure to answer (the drain's `ABORTED`). */
  cut?: (failure: Failure) => void;
}

interface LateFailure {
  thrown: unknown;
  /** What the log line says, when it is not what `thrown` says. */
  error?: ErrorPayload;
  /** The stream outlived the call's deadline. */
  timedOut?: boolean;
  /** The client went away: nothing to log, but the stream was not a success. */
  cancelled?: boolean;
  /** The handler's iterator, being closed: the invocation (its slot, its context) lasts until it is. */
  closing?: Promise<void>;
}

function serve(
  method: string,
  call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>,
  options: GrpcCallOptions,
  answer: Answer,
): void {
  const requestId = newRequestId();
  const malformed = malformedReason(call.request);
  if (malformed !== undefined) {
    options.metrics.rejected('bad_request');
    const message = `${method}: the request is not a valid protobuf message (${malformed})`;
    const error = { errorType: 'Request.Invalid', errorMessage: message, trace: [] };
    void answer({ ok: false, error, thrown: { code: status.INVALID_ARGUMENT, message } }, requestId, options);
    return;
  }
  const receivedAt = Date.now();
  const deadline = call.getDeadline();
  const clientDeadline = deadline instanceof Date ? deadline.getTime() : deadline;
  const info: InvocationInfo = {
    requestId,
    deadlineMs: Math.min(clientDeadline, receivedAt + options.timeout * 1000),
    invokedFunctionArn: options.invokedFunctionArn,
  };
  const event: GrpcEvent = {
    service: options.service,
    method,
    request: call.request,
    // A fresh plain object, first value per key, `-bin` values as Buffers.
    metadata: call.metadata.getMap(),
  };
  let answered = false;
  // The answer is out: a unary one as it is given, a stream's with its last message or status.
  let ended = false;
  let context: LambdaContext<object> | undefined;
  let overran: ((running: Promise<unknown>) => void) | undefined;
  let hold: StreamHold | undefined;
  // A stream's answer, settled once the handler's iterator is done.
  let streaming: Promise<void> | undefined;
  // A client cancels its call at its own deadline, as grpc-js's server does at the deadline the timeout
  // header gave: either way that is the deadline's to answer (a timeout). The client's cancel can arrive
  // first by as much as the server lagged in reading the call (a cold start, a busy loop), so a cancel in
  // the last tenth of the budget (50 ms to 1 s) counts as the deadline; only an earlier one is the caller's.
  const budgetMs = info.deadlineMs - receivedAt;
  const margin = Math.min(Math.max(budgetMs / 10, 50), 1_000);
  const cancelledByCaller = () => call.cancelled && Date.now() < info.deadlineMs - margin;
  const invocation: QueuedInvocation = {
    event,
    info,
    budgetMs,
    callerGone: () => call.cancelled,
    // A client that cancels (or whose connection goes) leaves nobody to answer: the handler is told
    // through context.signal, so it can stop; its slot is held until it does. grpc-js reports every call
    // 'cancelled' as its stream closes, answered or not: only a call still being answered (a stream, after
    // its handler returned) has a handler to tell (an error built for every call cost a third more CPU per
    // call).
    started: (cancel, invoked, overrun) => {
      context = invoked;
      overran = overrun;
      call.once('cancelled', () => {
        if (!ended && cancelledByCaller())
          cancel(new JustfnError('CANCELLED', 'The caller cancelled the call'));
      });
    },
    respond: (outcome) => {
      if (answered) {
        // Answered again: past the drain timeout, at the process's exit, or for an uncaught error from
        // the call's work. A stream still being written was answered as its handler returned: it is cut
        // off here, with that failure, and its iterator closed (the drain waits for it).
        if (!outcome.ok) hold?.cut?.(outcome);
        return streaming;
      }
      answered = true;
      // A status the handler threw on purpose for the caller's fault is counted a success.
      const refused = outcome.ok ? undefined : logFailed(options, info, method, outcome, cancelledByCaller);
      const count = (late: LateFailure | undefined) => {
        ended = true;
        let label = outcome.ok || refused !== undefined ? 'success' : outcome.timedOut ? 'timeout' : 'error';
        if (late) {
          label = late.timedOut ? 'timeout' : 'error';
          if (!late.cancelled) {
            const error = late.error ?? toErrorPayload(late.thrown);
            logFailure(options, info, method, { thrown: late.thrown, error, timedOut: late.timedOut });
          }
        }
        options.metrics.invocation('grpc', label, (Date.now() - receivedAt) / 1000, method);
        return late?.closing;
      };
      // A unary answer is written at once; a stream's takes as long as the handler keeps yielding.
      hold = { deadlineMs: info.deadlineMs, budgetMs, context, overran, cancelledByCaller };
      const answering = answer(outcome, requestId, options, hold);
      if (!(answering instanceof Promise)) return count(answering);
      streaming = answering.then(count);
      return streaming;
    },
  };
  if (!options.submit(invocation)) {
    answered = true;
    options.metrics.rejected('overloaded');
    void answer(
      {
        ok: false,
        error: { errorType: 'Runtime.Overloaded', errorMessage: '', trace: [] },
        // UNAVAILABLE, as gRPC maps HTTP's 503: the handler never ran, so clients may retry (their
        // retry policies take UNAVAILABLE, not RESOURCE_EXHAUSTED), after the pushback, as HTTP
        // mode's Retry-After.
        thrown: { code: status.UNAVAILABLE, message: 'too many calls running and waiting', pushbackMs: 1000 },
      },
      requestId,
      options,
    );
  }
}

/**
 * Logs a failed outcome as what it is, and returns the status when the handler threw it on purpose for
 * the caller's fault (NOT_FOUND, INVALID_ARGUMENT, …): that is an answer, as an HTTP handler's 404, logged
 * without alarm. A failure after the caller cancelled is most likely the cancel itself: one line, no
 * stack. Anything else is an `Invoke Error`, or an `Invoke Timeout` past the deadline.
 */
function logFailed(
  options: GrpcCallOptions,
  info: InvocationInfo,
  method: string,
  outcome: Failure,
  cancelledByCaller: () => boolean,
): number | undefined {
  const refused = callerFault(outcome);
  const { errorType, errorMessage } = outcome.error;
  if (refused !== undefined) {
    const code = status[refused];
    logQuietly(options, info, method, `Invoke answered ${code}`, { code, message: errorMessage });
  } else if (cancelledByCaller()) {
    logQuietly(options, info, method, 'Invoke ended after the caller cancelled', {
      errorType,
      message: errorMessage,
    });
  } else logFailure(options, info, method, outcome);
  return refused;
}

/** A server error's line, named as HTTP mode names it: `Invoke Timeout` past the deadline. */
function logFailure(
  options: GrpcCallOptions,
  info: InvocationInfo,
  method: string,
  { thrown, error, timedOut }: { thrown: unknown; error: ErrorPayload; timedOut?: boolean },
): void {
  options.scope.run(info, () =>
    options.log.error(
      { requestId: info.requestId, method, ...failureFields(thrown, error) },
      timedOut ? 'Invoke Timeout' : 'Invoke Error',
    ),
  );
}

/** One line at info for a failure that is no server error: a status the handler chose, a cancel. */
function logQuietly(
  options: GrpcCallOptions,
  info: InvocationInfo,
  method: string,
  message: string,
  fields: object,
): void {
  options.scope.run(info, () => options.log.info({ requestId: info.requestId, method, ...fields }, message));
}

function trailer(requestId: string): Metadata {
  const metadata = new Metadata();
  metadata.set('x-request-id', requestId);
  return metadata;
}

/** Encodes a handler's response message; throws an error naming the method when it cannot. */
type Encode = (value: unknown) => unknown;

function unaryTo(callback: sendUnaryData<unknown>, encode: Encode): Answer {
  return (outcome, requestId, options) => {
    if (!outcome.ok) return void callback(toStatus(outcome, options.exposeErrors, requestId));
    if (typeof outcome.value !== 'object' || outcome.value === null) {
      callback({
        code: status.INTERNAL,
        details: 'the handler returned no message',
        metadata: trailer(requestId),
      });
      return { thrown: new Error(`the handler returned ${describe(outcome.value)}, not a message`) };
    }
    let encoded: unknown;
    try {
      encoded = encode(outcome.value);
    } catch (error) {
      callback(toStatus(failure(error), options.exposeErrors, requestId));
      return { thrown: error };
    }
    callback(null, encoded, trailer(requestId));
    return undefined;
  };
}

const describe = (value: unknown) => (value === null ? 'null' : typeof value);

/**
 * The messages a server-streaming handler returned: an iterator over them, `undefined` for none (`null`,
 * `undefined`: the stream ends at once), or an Error saying what came back instead.
 */
function iteratorOf(value: unknown): AsyncIterator<unknown> | Iterator<unknown> | undefined | Error {
  if (value === null || value === undefined) return undefined;
  const messages = value as Partial<AsyncIterable<unknown> & Iterable<unknown>>;
  const asyncIterator = messages[Symbol.asyncIterator];
  if (typeof asyncIterator === 'function') return asyncIterator.call(messages);
  const iterator = messages[Symbol.iterator];
  if (typeof iterator === 'function' && typeof value === 'object') return iterator.call(messages);
  return new Error(
    `the handler returned ${describe(value)}, not the messages of a stream (an async generator, or an iterable)`,
  );
}

/** What failed after the handler returned, as the outcome of an invocation that threw it. */
const failure = (error: unknown) => ({
  ok: false as const,
  error: { errorType: 'Error', errorMessage: safeString(error), trace: [] },
  thrown: error,
});

/**
 * A server-streaming method: the handler returns an (async) iterable, an async generator most simply.
 * The call's deadline (capped by `JUSTFN_TIMEOUT`) covers the whole stream, not only the handler's
 * return: past it the iterator is closed and the call ends `DEADLINE_EXCEEDED`; a cancelled call closes it
 * too, and so does the drain, which ends the call with its own status. Waiting for a slow reader ends with
 * the call; the invocation's slot is given back once the iterator has closed.
 */
function streamTo(call: ServerWritableStream<unknown, unknown>, encode: Encode): Answer {
  return async (outcome, requestId, options, hold) => {
    if (!outcome.ok) {
      call.emit('error', toStatus(outcome, options.exposeErrors, requestId));
      return undefined;
    }
    const iterator = iteratorOf(outcome.value);
    if (iterator instanceof Error) {
      call.emit('error', {
        code: status.INTERNAL,
        details: 'the handler returned no stream',
        metadata: trailer(requestId),
      });
      return { thrown: iterator };
    }
    const deadlineMs = hold?.deadlineMs ?? Number.POSITIVE_INFINITY;
    // Checked on the clock too, and on context.signal's timer, which can fire before this one or before
    // the clock agrees: a generator that heeds the signal ends or throws as it aborts.
    const late = () =>
      Date.now() >= deadlineMs || (hold?.context !== undefined && pastDeadline(hold.context));
    // Ends the handler's generator early, so that its `finally` runs; settles once it has.
    const close = () =>
      Promise.resolve(iterator?.return?.()).then(
        () => {},
        () => {},
      );
    let timer: NodeJS.Timeout | undefined;
    let onGone: (() => void) | undefined;
    let stopped: 'deadline' | 'cancelled' | Failure | undefined;
    const stop = new Promise<void>((resolve) => {
      const halt = (why: NonNullable<typeof stopped>) => {
        stopped ??= why;
        resolve();
      };
      timer = setTimeout(halt, Math.max(deadlineMs - Date.now(), 0), 'deadline');
      onGone = () => halt('cancelled');
      call.once('cancelled', onGone);
      call.once('close', onGone);
      if (hold) hold.cut = halt;
    });
    /** The stream ends before its last message: answered with why, unless nobody is left to answer. */
    const cutShort = (cause: NonNullable<typeof stopped>): LateFailure => {
      const closing = close();
      // A client (or grpc-js, at the grpc-timeout it was sent) cancels at its own deadline, which can come
      // before this side's timer: that is the deadline's, as for a unary call.
      const why = cause === 'cancelled' && hold?.cancelledByCaller() === false ? 'deadline' : cause;
      // A generator still closing past the deadline holds its slot as an overrun (a caller's cancel
      // first gives it until the deadline, as a unary handler gets).
      if (why === 'cancelled' || why === 'deadline') {
        overranIfStill(closing, hold?.overran, Math.max(deadlineMs - Date.now(), 0));
      }
      if (why === 'cancelled') return { thrown: undefined, cancelled: true, closing };
      const failure = why === 'deadline' ? timedOut(hold?.budgetMs ?? 0) : why;
      call.emit('error', toStatus(failure, options.exposeErrors, requestId));
      return { thrown: failure.thrown, error: failure.error, timedOut: failure.timedOut === true, closing };
    };
    try {
      while (iterator) {
        const next = await Promise.race([iterator.next(), stop]);
        // An iterable that never waits would starve the timer.
        if (!stopped && late()) stopped = 'deadline';
        if (call.cancelled) stopped ??= 'cancelled';
        if (stopped) return cutShort(stopped);
        if (!next || next.done) break;
        if (!call.write(encode(next.value)))
          await Promise.race([new Promise((r) => call.once('drain', r)), stop]);
      }
      call.end(trailer(requestId));
      return undefined;
    } catch (error) {
      // Thrown as the deadline or the drain aborted context.signal: they are the answer.
      if (!stopped && late()) stopped = 'deadline';
      if (stopped) return cutShort(stopped);
      // A message that does not encode fails here with the handler's iterator still open (one that threw
      // is finished already, and closing it does nothing).
      const closing = close();
      call.emit('error', toStatus(failure(error), options.exposeErrors, requestId));
      return { thrown: error, closing };
    } finally {
      clearTimeout(timer);
      if (onGone) {
        call.off('cancelled', onGone);
        call.off('close', onGone);
      }
    }
  };
}

/** How long a cut stream's generator has to close (its `finally` may await a little) before it counts. */
const CLOSING_GRACE_MS = 100;

/**
 * A stream cut short whose generator has not closed `CLOSING_GRACE_MS` past the deadline (deaf to
 * `context.signal`, stuck in an `await`): its slot is held by an overrun, as a unary handler's past its
 * deadline. One that heeds the signal closes in time and is not counted.
 */
function overranIfStill(
  closing: Promise<void>,
  overran: StreamHold['overran'],
  untilDeadlineMs: number,
): void {
  if (!overran) return;
  let closed = false;
  void closing.then(() => {
    closed = true;
  });
  setTimeout(() => {
    if (!closed) overran(closing);
  }, untilDeadlineMs + CLOSING_GRACE_MS).unref();
}

/** A stream past its deadline: the same timeout as a unary call's, logged and counted as one. */
function timedOut(budgetMs: number): Failure {
  const error = timeoutError(budgetMs);
  return { ok: false, error: toErrorPayload(error), thrown: error, timedOut: true };
}
