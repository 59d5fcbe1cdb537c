import { writeSync } from 'node:fs';
import { format } from 'node:util';
import { JustfnError, safeString, toErrorPayload } from '../errors.js';
import type { InvocationScope } from '../scope.js';
import { masked } from '../secrets.js';

/** Lambda's log levels, with the telemetry frame mask of each (`RICv3 src/LogPatch.js`). */
export const lambdaLevels = {
  TRACE: { priority: 1, mask: 0b00100 },
  DEBUG: { priority: 2, mask: 0b01000 },
  INFO: { priority: 3, mask: 0b01100 },
  WARN: { priority: 4, mask: 0b10000 },
  ERROR: { priority: 5, mask: 0b10100 },
  FATAL: { priority: 6, mask: 0b11000 },
} as const;

export type LambdaLevel = keyof typeof lambdaLevels;
export type LambdaLogFormat = 'Text' | 'JSON';

export interface LambdaLogOptions {
  format: LambdaLogFormat;
  /** Lines below this level are dropped; AWS prints everything when no level is set. */
  level: LambdaLevel;
  scope: InvocationScope;
  /** `_LAMBDA_TELEMETRY_LOG_FD`: write framed records there instead of to `stdout`. */
  telemetryFd?: number | undefined;
  /** Where stdout lines go (one line per record, `\n` already folded into `\r`). */
  stdout: (line: string) => void;
}

type LogMethod = (...args: unknown[]) => void;

/** The `console` methods of Lambda mode, plus the runtime's own error logger. */
export interface LambdaLog {
  trace: LogMethod;
  debug: LogMethod;
  info: LogMethod;
  log: LogMethod;
  warn: LogMethod;
  error: LogMethod;
  fatal: LogMethod;
  /** How the runtime reports an error (`Invoke Error`, `Uncaught Exception`): AWS's layout per format. */
  logError(label: string, error: unknown): void;
}

const noop: LogMethod = () => {};

/**
 * Formats `console.*` as AWS's Node runtime does: Text is `time \t requestId \t LEVEL \t message`, JSON is
 * `{timestamp, level, requestId, tenantId?, message}` with error fields; on stdout each record is one line
 * (`\n` becomes `\r`); with a telemetry fd each record is a frame: type | length | microseconds | message.
 *
 * @example
 * const log = createLambdaLog({ format: 'Text', level: 'TRACE', scope, stdout: (l) => process.stdout.write(l) });
 * console.log = log.log;
 */
export function createLambdaLog(options: LambdaLogOptions): LambdaLog {
  const { scope } = options;
  const json = options.format === 'JSON';
  const render = json ? renderJson : renderText;
  const emit =
    options.telemetryFd === undefined ? toStdout(options.stdout) : toTelemetryFd(options.telemetryFd, json);
  const threshold = lambdaLevels[options.level].priority;
  const method = (level: LambdaLevel): LogMethod => {
    if (lambdaLevels[level].priority < threshold) return noop;
    return (...args) => {
      const now = new Date();
      emit(level, now, render(level, now, scope, args));
    };
  };
  const log: LambdaLog = {
    trace: method('TRACE'),
    debug: method('DEBUG'),
    info: method('INFO'),
    log: method('INFO'),
    warn: method('WARN'),
    error: method('ERROR'),
    // AWS adds console.fatal and never filters it.
    fatal: (...args) => {
      const now = new Date();
      emit('FATAL', now, render('FATAL', now, scope, args));
    },
    // The runtime's own report of an error: with the secrets justfn knows masked (runtime/secrets.ts).
    logError: (label, error) => {
      if (lambdaLevels.ERROR.priority < threshold) return;
      const now = new Date();
      let line: string;
      try {
        line = render(
          'ERROR',
          now,
          scope,
          json ? [intoError(error)] : [label, formatErrorDetails(intoError(error))],
        );
      } catch {
        // A value whose fields throw when read: logged as its payload (`errorType: "handled"`), as AWS does.
        line = render('ERROR', now, scope, [label, `\t${JSON.stringify(toErrorPayload(error))}`]);
      }
      emit('ERROR', now, masked(line));
    },
  };
  return log;
}

// AWS's runtime formats `(message, ...params)`: `console.log()` is a message of `undefined` (Text prints
// it, JSON leaves the field out).
const NO_ARGUMENTS = [undefined];

function renderText(level: LambdaLevel, now: Date, scope: InvocationScope, args: unknown[]): string {
  const message = format(...(args.length === 0 ? NO_ARGUMENTS : args));
  return `${now.toISOString()}\t${scope.current()?.requestId}\t${level}\t${message}`;
}

function renderJson(level: LambdaLevel, now: Date, scope: InvocationScope, args: unknown[]): string {
  const entry = scope.current();
  const record: Record<string, unknown> = {
    timestamp: now.toISOString(),
    level,
    requestId: entry?.requestId,
  };
  if (entry?.tenantId !== undefined) record.tenantId = entry.tenantId;
  if (args.length <= 1) {
    record.message = args[0];
    try {
      return JSON.stringify(record, errorReplacer);
    } catch {
      record.message = format(args[0]);
      return JSON.stringify(record);
    }
  }
  record.message = format(...args);
  const error = args.find((arg) => arg instanceof Error) as Error | undefined;
  if (error) {
    record.errorType = error.constructor?.name ?? 'UnknownError';
    record.errorMessage = error.message;
    record.stackTrace = typeof error.stack === 'string' ? error.stack.split('\n') : [];
  }
  return JSON.stringify(record);
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  return {
    errorType: value.constructor?.name ?? 'UnknownError',
    errorMessage: value.message,
    stackTrace: typeof value.stack === 'string' ? value.stack.split('\n') : value.stack,
    ...value,
  };
}

function toStdout(write: (line: string) => void) {
  return (_level: LambdaLevel, _now: Date, message: string) => write(`${message.replace(/\n/g, '\r')}\n`);
}

function toTelemetryFd(fd: number, json: boolean) {
  const header = Buffer.alloc(16);
  const type = json ? 0xa55a0002 : 0xa55a0003;
  return (level: LambdaLevel, now: Date, message: string) => {
    const body = Buffer.from(json ? message : `${message}\n`, 'utf8');
    header.writeUInt32BE((type | lambdaLevels[level].mask) >>> 0, 0);
    header.writeUInt32BE(body.length, 4);
    header.writeBigUInt64BE(BigInt(now.getTime()) * 1000n, 8);
    writeSync(fd, header);
    writeSync(fd, body);
  };
}

function intoError(value: unknown): Error {
  return value instanceof Error ? value : new Error(safeString(value));
}

/**
 * `\t{"errorType", "errorMessage", "code", ...enumerable, "stack": [lines]}`: the detail AWS's runtime
 * prints after `Invoke Error` in the Text format.
 */
export function formatErrorDetails(error: Error): string {
  const withFields = (value: unknown): unknown => {
    if (!(value instanceof Error)) return value;
    const fields: Record<string, unknown> = {
      errorType: value.name,
      errorMessage: value.message,
      // A JustfnError's code is justfn's bookkeeping: AWS's own `Runtime.*` errors carry none.
      code: value instanceof JustfnError ? undefined : (value as { code?: unknown }).code,
      ...value,
    };
    if (typeof value.stack === 'string') fields.stack = value.stack.split('\n');
    return fields;
  };
  try {
    return `\t${JSON.stringify(error, (_key, value) => withFields(value))}`;
  } catch {
    const { errorType, errorMessage, trace } = toErrorPayload(error);
    return `\t${JSON.stringify({ errorType, errorMessage, stack: trace })}`;
  }
}

/**
 * Routes `console.*` to the log, as AWS's runtime patches it (`console.fatal` included).
 *
 * @example
 * patchConsole(createLambdaLog(options));
 */
export function patchConsole(log: LambdaLog): void {
  const target = console as unknown as Record<string, unknown>;
  for (const method of ['trace', 'debug', 'info', 'log', 'warn', 'error', 'fatal'] as const) {
    target[method] = log[method];
  }
}

/**
 * The resource registry's log on a Lambda log: the message, then its fields as JSON (Text's layout). Not
 * `util.format`'s rendering of the object, whose first use (in every init that opens a resource) loads
 * and runs `util.inspect`: ~2.5 ms, measured.
 *
 * @example
 * createRegistry(service, resourceLog(log));
 */
export function resourceLog(log: LambdaLog) {
  const line = (method: (...args: unknown[]) => void) => (fields: object, message?: string) =>
    method(`${message ?? ''} ${JSON.stringify(fields)}`);
  return { info: line(log.info), warn: line(log.warn), error: line(log.error) };
}
