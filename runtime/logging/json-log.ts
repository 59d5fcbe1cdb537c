import { format, type InspectOptions, inspect } from 'node:util';
import pino, { type DestinationStream, type Logger } from 'pino';
import { JustfnError } from '../errors.js';
import type { InvocationScope } from '../scope.js';
import { masked, maskedFields } from '../secrets.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface JsonLogOptions {
  level: LogLevel;
  scope: InvocationScope;
  /** Added to every line (`service`). */
  service: string;
  /** Default: stdout, written synchronously so nothing is lost when the process exits. */
  destination?: DestinationStream;
}

type LogMethod = (...args: unknown[]) => void;

/** The `console` methods that user code calls, routed to the JSON log. */
export interface ConsoleMethods {
  trace: LogMethod;
  debug: LogMethod;
  info: LogMethod;
  log: LogMethod;
  warn: LogMethod;
  error: LogMethod;
  dirxml: LogMethod;
  dir: (value: unknown, options?: InspectOptions) => void;
}

/**
 * HTTP mode's log: pino JSON lines on stdout; every line written during an invocation (the handler's
 * `console.*` included) carries its `requestId`, and concurrent invocations stay apart because the id
 * comes from the invocation scope (AsyncLocalStorage), not from a global.
 *
 * @example
 * const { logger, console: methods } = createJsonLog({ level: 'info', scope, service: 'users' });
 * Object.assign(console, methods);
 * logger.error({ err }, 'invocation failed');
 */
export function createJsonLog(options: JsonLogOptions): { logger: Logger; console: ConsoleMethods } {
  const { scope } = options;
  const logger = pino(
    {
      level: options.level,
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: () => {
        const entry = scope.current();
        return entry ? { requestId: entry.requestId } : {};
      },
      serializers: { err: serializeError },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
  // console.* keeps its printf semantics; an Error among the arguments is kept whole, as `err`.
  const method =
    (level: LogLevel): LogMethod =>
    (...args) => {
      if (!logger.isLevelEnabled(level)) return;
      const error = args.find((arg) => arg instanceof Error);
      if (error) logger[level]({ err: error }, format(...args));
      else logger[level](format(...args));
    };
  return {
    logger,
    console: {
      trace: method('trace'),
      debug: method('debug'),
      info: method('info'),
      log: method('info'),
      warn: method('warn'),
      error: method('error'),
      // Node's `dirxml` is a copy of the original `log`, and `dir` writes to stdout itself; the other
      // methods (`table`, `count`, `assert`, `timeEnd`, …) call `log` or `warn`. `dir` renders as Node's.
      dirxml: method('info'),
      dir: (value, inspectOptions) => {
        if (logger.isLevelEnabled('info'))
          logger.info(inspect(value, { customInspect: false, ...inspectOptions }));
      },
    },
  };
}

/**
 * pino's error serializer, made safe for whatever a handler throws: it recurses without end into an
 * `errors` array that holds the error itself, and reads getters that may throw. A serializer that throws
 * loses the log line and, where the line precedes an answer, the answer: this one falls back to the
 * fields it can read.
 */
function serializeError(error: unknown): unknown {
  try {
    return maskedFields(pino.stdSerializers.err(error as Error));
  } catch {
    const read = (key: string): string | undefined => {
      try {
        const value = (error as Record<string, unknown>)[key];
        return value === undefined ? undefined : String(value);
      } catch {
        return undefined;
      }
    };
    return maskedFields({
      type: read('name') ?? 'Error',
      message: read('message') ?? '',
      stack: read('stack') ?? '',
    });
  }
}

/**
 * The fields of the one line a failed invocation logs in the server modes, whatever was thrown: the error
 * type and message the error payload carries, and the thrown value whole — an `Error` as `err` (pino's
 * rendering: type, message, stack, cause, own fields), any other object as `thrown` (Node's `inspect`,
 * which reads no getter and survives cycles), since its payload message may be `[object Object]`.
 * justfn's own timeout adds nothing: its stack is the runtime's, no place in the function.
 *
 * @example
 * log.error({ requestId, ...failureFields(thrown, toErrorPayload(thrown)) }, 'Invoke Error');
 */
export function failureFields(
  thrown: unknown,
  error: { errorType: string; errorMessage: string },
): Record<string, unknown> {
  const fields: Record<string, unknown> = { errorType: error.errorType, errorMessage: error.errorMessage };
  // What was thrown may throw back when looked at (a Proxy, a custom inspect): the line must still be
  // written, and the answer after it.
  try {
    if (thrown instanceof JustfnError && thrown.code === 'TIMEOUT') return fields;
    if (thrown instanceof Error) fields.err = thrown;
    else if (typeof thrown === 'object' && thrown !== null)
      fields.thrown = masked(inspect(thrown, { depth: 4 }));
  } catch {}
  return fields;
}
