import type { ClientContext, CognitoIdentity, InvocationInfo } from '../../runtime/context.js';
import { JustfnError, toErrorPayload } from '../../runtime/errors.js';
import type { Invocation, Source } from '../../runtime/loop.js';
import { stringifyResult } from '../../runtime/result.js';
import type { InvocationScope } from '../../runtime/scope.js';
import { masked } from '../../runtime/secrets.js';
import { AnswerCutError, type ApiAnswer, type RuntimeApiClient } from './runtime-api-client.js';
import { createLambdaStreamSink } from './stream-sink.js';

export interface LambdaInvocation extends Invocation {
  /** `Lambda-Runtime-Invocation-Id`, echoed on `/response` and `/error` when the platform sent it. */
  invocationId?: string | undefined;
}

/** The Runtime API answered in a way the process cannot go on from (a 500, or no answer at all). */
export class RuntimeApiFatalError extends Error {
  override name = 'RuntimeApiFatalError';
}

export interface LambdaSourceOptions {
  api: RuntimeApiClient;
  /** The runtime's own log lines: the request id is on them, as on the handler's. */
  log: {
    info(...args: unknown[]): void;
    warn(...args: unknown[]): void;
    error(...args: unknown[]): void;
    logError(label: string, e: unknown): void;
  };
  /** `_X_AMZN_TRACE_ID` for each invocation (classic mode only: the environment is process-wide). */
  setTraceId?: ((traceId: string | undefined) => void) | undefined;
  /** Which invocation a log line belongs to: also for one the handler never sees (an unreadable event). */
  scope?: InvocationScope | undefined;
  /** Told of every `/next` answered 200, whether or not its invocation can be read. */
  received?: (() => void) | undefined;
  /**
   * `AWS_LAMBDA_RUNTIME_VERBOSE`: from 2, a `RUNTIME RAPID` line for each exchange with the Runtime API
   * (as AWS's client prints them); at 3, with the invocation's headers.
   */
  verbose?: number | undefined;
}

const RETRIES = 3;

/**
 * Invocations from the Lambda Runtime API: `/next` becomes an {@link LambdaInvocation}, an outcome becomes
 * `/response` or `/error`. Answers the platform may give (410 for a stale invoke, 413 for a result over
 * 6 MB, 4xx) are logged and survived; a 500, or a Runtime API that cannot be reached, ends the loop with a
 * {@link RuntimeApiFatalError}.
 */
export function createLambdaSource(options: LambdaSourceOptions): Source<LambdaInvocation> {
  const { api, log } = options;
  const verbose = options.verbose ?? 0;
  // Masked as every log line: a header or a handler string may carry a value from a ${VAR}.
  const rapid = (message: string) => log.info(masked(`RUNTIME RAPID ${message}`));

  const call = async (what: string, send: () => Promise<ApiAnswer>): Promise<ApiAnswer> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send();
      } catch (error) {
        // An answer came and could not be read (headers over 64 KiB, bytes that are not HTTP): the request
        // reached the Runtime API, so asking again would skip what it answered (an invocation, for /next).
        if (unreadable(error)) {
          throw new RuntimeApiFatalError(
            `${what}: the Runtime API's answer cannot be read (${describe(error)})`,
            {
              cause: error,
            },
          );
        }
        if (attempt >= RETRIES) {
          throw new RuntimeApiFatalError(`${what}: the Runtime API cannot be reached (${describe(error)})`, {
            cause: error,
          });
        }
        log.warn(`${what}: ${describe(error)}; retrying (${attempt}/${RETRIES - 1})`);
        await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt));
      }
    }
  };

  const check = (what: string, answer: ApiAnswer): void => {
    if (verbose >= 2) rapid(`${what}: ${answer.status}`);
    if (answer.status >= 200 && answer.status < 300) return;
    const detail = `${what}: the Runtime API answered ${answer.status} ${answer.body.toString('utf8').slice(0, 500)}`;
    if (answer.status >= 500) throw new RuntimeApiFatalError(detail);
    if (answer.status === 410) log.warn(`${detail} (the invocation had already timed out)`);
    else log.error(detail);
  };

  return {
    async next() {
      for (;;) {
        const answer = await call('GET /next', api.next);
        if (answer.status !== 200) {
          throw new RuntimeApiFatalError(
            `GET /next: the Runtime API answered ${answer.status} ${answer.body.toString('utf8').slice(0, 500)}`,
          );
        }
        options.received?.();
        if (verbose >= 2) {
          const id = answer.headers['lambda-runtime-aws-request-id'];
          const line = `GET /next: ${id}${verbose >= 3 ? ` ${JSON.stringify(answer.headers)}` : ''}`;
          // Under the invocation's request id, as the exchanges that follow.
          if (options.scope && typeof id === 'string')
            options.scope.run({ requestId: id }, () => rapid(line));
          else rapid(line);
        }
        const invocation = toInvocation(answer);
        options.setTraceId?.(invocation.info.traceId);
        if (!('failure' in invocation)) return invocation;
        // The platform's headers or event could not be read: the handler never sees it.
        const id = invocation.info.requestId;
        const report = () => log.logError('Invoke Error', invocation.failure);
        if (options.scope) options.scope.run({ requestId: id }, report);
        else report();
        const failed = { error: toErrorPayload(invocation.failure), thrown: invocation.failure };
        check(
          'POST /error',
          await call('POST /error', () => api.postError(id, failed, invocation.invocationId)),
        );
      }
    },

    async complete(invocation, outcome) {
      const id = invocation.info.requestId;
      if (outcome.streamed) {
        // A 500 to the streamed response ends the process, as for any other answer.
        if (!outcome.ok && outcome.thrown instanceof RuntimeApiFatalError) throw outcome.thrown;
        if (!outcome.ok) log.logError('Invoke Error', outcome.thrown);
        return;
      }
      let body: string | undefined;
      let failure = outcome.ok ? undefined : outcome;
      if (outcome.ok) {
        try {
          body = stringifyResult(outcome.value);
        } catch (error) {
          failure = { ok: false, error: toErrorPayload(error), thrown: error };
        }
      }
      if (failure) {
        log.logError('Invoke Error', failure.thrown);
        const sent = await call('POST /error', () => api.postError(id, failure, invocation.invocationId));
        return check('POST /error', sent);
      }
      check(
        'POST /response',
        await call('POST /response', () => api.postResponse(id, body!, invocation.invocationId)),
      );
    },

    openStream(invocation) {
      const target = api.streamTarget(invocation.info.requestId, invocation.invocationId);
      return createLambdaStreamSink(target, (answer) => check('POST /response (streaming)', answer));
    },
  };
}

type Parsed = LambdaInvocation | (LambdaInvocation & { failure: unknown });

function toInvocation(answer: ApiAnswer): Parsed {
  const header = (name: string): string | undefined => {
    const value = answer.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const requestId = header('lambda-runtime-aws-request-id');
  if (!requestId)
    throw new RuntimeApiFatalError('GET /next: the answer has no Lambda-Runtime-Aws-Request-Id');
  const deadline = header('lambda-runtime-deadline-ms');
  const info: InvocationInfo = {
    requestId,
    deadlineMs: Number(deadline),
    invokedFunctionArn: header('lambda-runtime-invoked-function-arn') ?? '',
    traceId: header('lambda-runtime-trace-id'),
    tenantId: header('lambda-runtime-aws-tenant-id'),
  };
  const invocationId = header('lambda-runtime-invocation-id');
  try {
    // Without it every timer of the invocation would fire at once (NaN) or long ago (an empty value).
    if (deadline === undefined || !/^\d{1,15}$/.test(deadline)) {
      throw new JustfnError(
        'INVALID_EVENT',
        `Lambda-Runtime-Deadline-Ms: expected epoch milliseconds, got ${deadline === undefined ? 'none' : JSON.stringify(deadline.slice(0, 40))}`,
      );
    }
    // As AWS's runtime: the caller's JSON as sent, typed as AWS types it.
    info.clientContext = parseJsonHeader(header('lambda-runtime-client-context'), 'ClientContext') as
      | ClientContext
      | undefined;
    info.identity = parseJsonHeader(header('lambda-runtime-cognito-identity'), 'CognitoIdentity') as
      | CognitoIdentity
      | undefined;
    return { info, event: parseEvent(answer.body), invocationId };
  } catch (failure) {
    return { info, event: undefined, invocationId, failure };
  }
}

function parseEvent(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new JustfnError('INVALID_EVENT', `The event is not JSON: ${(error as Error).message}`);
  }
}

function parseJsonHeader(value: string | undefined, name: string): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new Error(`Cannot parse ${name} as json: ${String(error)}`);
  }
}

function unreadable(error: unknown): boolean {
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  return code === 'UND_ERR_HEADERS_OVERFLOW' || name === 'HTTPParserError' || error instanceof AnswerCutError;
}

function describe(error: unknown): string {
  const e = error as { code?: string; message?: string };
  return e?.code ? `${e.code}: ${e.message}` : String(e?.message ?? error);
}
