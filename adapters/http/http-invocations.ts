import type { FastifyReply } from 'fastify';
import type { InvocationInfo } from '../../runtime/context.js';
import { type ErrorPayload, JustfnError, toErrorPayload } from '../../runtime/errors.js';
import type { Outcome } from '../../runtime/invoke.js';
import { failureFields } from '../../runtime/logging/json-log.js';
import type { QueuedInvocation } from '../../runtime/loop.js';
import type { MetricsRecorder } from '../../runtime/metrics-recorder.js';
import { stringifyResult } from '../../runtime/result.js';
import type { InvocationScope } from '../../runtime/scope.js';
import { type CloudEventJson, toCloudEventResponse } from './cloudevents.js';

import type { HttpEventFormat, HttpRequest, HttpResponse } from './request.js';
import { badResultResponse, functionErrorResponse, lastIfDraining, send } from './responses.js';
import { createHttpStreamSink } from './stream-sink.js';

/**
 * An invocation from an HTTP request: it answers its own request, and can stream, except a CloudEvent's:
 * its answer is one reply event (or, in a batch, one part of a shared answer), so a streaming handler
 * fails there (`Runtime.MalformedStreamingHandler`, a 500) without being called.
 */
export type HttpInvocation = QueuedInvocation;

export interface InvocationFactoryOptions {
  /** The format plain requests become, and its name (the metrics' `event` label). */
  format: HttpEventFormat<unknown, unknown>;
  formatName: string;
  /** What the request cannot say (ALB's multi-value setting, the stage): both directions use it. */
  formatOptions?: unknown;
  /** Seconds per invocation. */
  timeout: number;
  invokedFunctionArn: string;
  exposeErrors: boolean;
  replySource?: string | undefined;
  replyType?: string | undefined;
  scope: InvocationScope;
  log: {
    info(fields: object, message: string): void;
    warn(fields: object, message: string): void;
    error(fields: object, message: string): void;
  };
  metrics: MetricsRecorder;
}

/** How one kind of invocation turns its outcome into the HTTP answer. */
type Answer = (outcome: Extract<Outcome, { ok: true }>) => HttpResponse;
type Failure = (outcome: Extract<Outcome, { ok: false }>) => HttpResponse;

/**
 * Makes invocations out of requests: the event a handler gets, and how its outcome is answered — the
 * event format's response, a CloudEvent reply, or the raw Lambda invoke answer. Every answer carries
 * `x-request-id`, is recorded in the metrics, and happens once: a late outcome (after a drain timeout
 * answered for it) is ignored.
 */
export function createInvocationFactory(options: InvocationFactoryOptions) {
  const { log, metrics, scope } = options;
  // Made once, not per request: a default parameter's arrow function is a new closure at every call.
  const functionError: Failure = ({ error, timedOut }) =>
    functionErrorResponse(error, timedOut === true, options.exposeErrors);
  const unanswerable = (error: ErrorPayload) => badResultResponse(error, options.exposeErrors);
  // API Gateway and ALB see the result as JSON, after the runtime's JSON.stringify: a result refused as
  // it is (a Date as a header value) is read again as that JSON before it is refused. Only then: the round
  // trip would cost every answer a stringify and a parse.
  const formatAnswer: Answer = ({ value }) => {
    try {
      return options.format.toResponse(value, options.formatOptions);
    } catch (error) {
      if (!(error instanceof JustfnError) || error.code !== 'BAD_HANDLER_RESULT') throw error;
      const sent = asSent(value);
      if (sent === undefined) throw error;
      return options.format.toResponse(sent.value, options.formatOptions);
    }
  };

  const make = (
    req: HttpRequest,
    reply: FastifyReply,
    event: unknown,
    kind: string,
    answer: Answer,
    onAnswer: (response: HttpResponse | undefined) => void,
    failure: Failure = functionError,
    /** A result that cannot be answered (API Gateway would refuse it, or JSON cannot hold it). */
    badResult: (error: ErrorPayload) => HttpResponse = unanswerable,
  ): HttpInvocation => {
    const info: InvocationInfo = {
      requestId: req.requestId,
      deadlineMs: req.receivedAt + options.timeout * 1000,
      invokedFunctionArn: options.invokedFunctionArn,
    };
    let answered = false;
    let streaming = false;
    // The response was already gone when the stream failed: the client's doing, not the failure's own cut.
    let clientLeft = false;
    const invocation: HttpInvocation = {
      event,
      info,
      budgetMs: options.timeout * 1000,
      // The request's socket: a pipelined request's response has none until the ones ahead are done.
      callerGone: () => reply.request.raw.socket.destroyed,
      respond(outcome) {
        if (answered) return;
        answered = true;
        const seconds = (Date.now() - req.receivedAt) / 1000;
        if (!outcome.ok) {
          const label = outcome.timedOut ? 'timeout' : 'error';
          metrics.invocation(kind, label, seconds);
          // A stream whose client went away fails with the write that found it gone (or with what its
          // handler made of that): the client's doing, one line without a stack, as gRPC's cancelled stream.
          const { errorType, errorMessage } = outcome.error;
          if (streaming && !outcome.timedOut && clientLeft) {
            scope.run(info, () =>
              log.info(
                { requestId: info.requestId, errorType, message: errorMessage },
                'Invoke ended after the client went away',
              ),
            );
            return onAnswer(undefined);
          }
          scope.run(info, () =>
            log.error(
              { requestId: info.requestId, ...failureFields(outcome.thrown, outcome.error) },
              outcome.timedOut ? 'Invoke Timeout' : 'Invoke Error',
            ),
          );
          if (streaming) reply.raw.destroy();
          return onAnswer(streaming ? undefined : failure(outcome));
        }
        if (streaming || outcome.streamed) {
          metrics.invocation(kind, 'success', seconds);
          return onAnswer(undefined);
        }
        let response: HttpResponse;
        try {
          response = answer(outcome);
          metrics.invocation(kind, 'success', seconds);
        } catch (error) {
          metrics.invocation(kind, 'error', seconds);
          const payload = toErrorPayload(error);
          scope.run(info, () =>
            log.error({ requestId: info.requestId, ...failureFields(error, payload) }, 'Bad Result'),
          );
          response = badResult(payload);
        }
        onAnswer(response);
      },
    };
    if (kind === 'cloudevent') return invocation;
    invocation.openStream = () => {
      const sink = createHttpStreamSink(reply.raw, req.requestId);
      return {
        ...sink,
        // A failure after the head cuts the response (the only way left to say it), before `respond`.
        fail(error) {
          clientLeft = reply.raw.destroyed;
          return sink.fail(error);
        },
        start(head) {
          // Throws, before writing anything, for a prelude the wire cannot carry: the invocation then
          // fails with a whole answer (a 502) instead of a cut connection.
          lastIfDraining(reply);
          sink.start(head);
          streaming = true;
          reply.hijack();
          // Its head went out keeping the connection; should a drain begin while it streams, the
          // connection ends with it rather than with the drain, under a next request.
          const { socket } = reply.raw;
          reply.raw.once('finish', () => {
            if (!reply.server.server.listening) socket?.end();
          });
        },
      };
    };
    return invocation;
  };

  const single = (req: HttpRequest, reply: FastifyReply) => (response: HttpResponse | undefined) => {
    if (response) send(reply, response, req.requestId);
  };

  return {
    /** A plain request: the configured API Gateway / ALB event. */
    plain(req: HttpRequest, reply: FastifyReply): HttpInvocation {
      const event = options.format.toEvent(req, options.formatOptions);
      return make(req, reply, event, options.formatName, formatAnswer, single(req, reply));
    },

    /** One CloudEvent; `collect` is given its answer instead of sending it (one event of a batch). */
    cloudEvent(
      req: HttpRequest,
      reply: FastifyReply,
      event: CloudEventJson,
      collect?: (response: HttpResponse) => void,
    ): HttpInvocation {
      const { replySource, replyType } = options;
      // A batch drops replies (its 202 is never routed as one): none is built, so none can fail the batch
      // and have the sender deliver every event of it again.
      const answer: Answer = collect
        ? () => ({ statusCode: 202, headers: {}, body: '' })
        : ({ value }) => toCloudEventResponse(value, event, { replySource, replyType });
      const onAnswer = collect
        ? (response: HttpResponse | undefined) =>
            collect(response ?? { statusCode: 500, headers: {}, body: '' })
        : single(req, reply);
      return make(req, reply, event, 'cloudevent', answer, onAnswer);
    },

    /** The raw Lambda invoke endpoint (`JUSTFN_INVOKE_API=1`): Lambda's Invoke API answers. */
    raw(req: HttpRequest, reply: FastifyReply, event: unknown): HttpInvocation {
      const answer: Answer = ({ value }) => json(200, stringifyResult(value), {});
      // As Lambda's Invoke API: a function error is a 200 with X-Amz-Function-Error and the error body.
      const failure: Failure = ({ error }) =>
        json(200, JSON.stringify(error), { 'x-amz-function-error': 'Unhandled' });
      // A result JSON cannot hold is a function error on Lambda too (Runtime.JSONStringifyError), not a 502.
      const badResult = (error: ErrorPayload) => failure({ ok: false, error, thrown: error });
      return make(req, reply, event, 'invoke', answer, single(req, reply), failure, badResult);
    },
  };
}

function json(statusCode: number, body: string, headers: Record<string, string>): HttpResponse {
  return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body };
}

/** The result as Lambda sends it (its JSON, parsed back); undefined when JSON cannot hold it. */
function asSent(value: unknown): { value: unknown } | undefined {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? undefined : { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}
