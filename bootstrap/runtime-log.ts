import { format, type InspectOptions, inspect } from 'node:util';
import { createJsonLog, type LogLevel } from '../runtime/logging/json-log.js';
import { createLambdaLog } from '../runtime/logging/lambda-log.js';
import type { InvocationScope } from '../runtime/scope.js';
import { masked } from '../runtime/secrets.js';
import type { Options } from './options.js';
import { stdoutWriter } from './stdout.js';

/** The runtime's own log lines in HTTP mode: structured fields and a message. */
export interface RuntimeLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  fatal(fields: object, message: string): void;
}

/** JSON (pino) by default; Lambda's Text format when asked for. `console.*` goes the same way. */
export function createRuntimeLog(options: Options, scope: InvocationScope, service: string): RuntimeLog {
  const level = (options.logLevel ?? 'info') as LogLevel;
  if (options.logFormat === 'Text') {
    const text = createLambdaLog({
      format: 'Text',
      level: level.toUpperCase() as Parameters<typeof createLambdaLog>[0]['level'],
      scope,
      stdout: stdoutWriter(),
    });
    Object.assign(console, {
      trace: text.trace,
      debug: text.debug,
      info: text.info,
      log: text.log,
      warn: text.warn,
      error: text.error,
      // Node's own write to stdout, which would carry no request id; rendered as Node renders it.
      dir: (value: unknown, inspectOptions?: InspectOptions) =>
        text.info(inspect(value, { customInspect: false, ...inspectOptions })),
      dirxml: text.info,
    });
    // Masked as pino's error serializer masks them in JSON: its errors may name a secret address.
    const line = (method: (...args: unknown[]) => void) => (fields: object, message: string) =>
      method(message, masked(format('%o', fields)));
    return { info: line(text.info), warn: line(text.warn), error: line(text.error), fatal: line(text.fatal) };
  }
  const { logger, console: methods } = createJsonLog({ level, scope, service });
  Object.assign(console, methods);
  return {
    info: (fields, message) => logger.info(fields, message),
    warn: (fields, message) => logger.warn(fields, message),
    error: (fields, message) => logger.error(fields, message),
    fatal: (fields, message) => logger.fatal(fields, message),
  };
}
