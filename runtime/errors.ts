import { masked } from './secrets.js';
import { shareInstanceof } from './shared-class.js';

/**
 * Every error justfn raises, in one table: a stable code, the wire name users search for (AWS's
 * `Runtime.*` names where AWS has one) and the HTTP status a caller sees. `docs/errors.md` lists the same
 * table; a test fails when the two drift apart.
 */
export const errorCatalog = {
  // Loading the handler (AWS's Node runtime names and messages).
  MALFORMED_HANDLER_NAME: { type: 'Runtime.MalformedHandlerName', status: 500 },
  IMPORT_MODULE: { type: 'Runtime.ImportModuleError', status: 500 },
  USER_CODE_SYNTAX: { type: 'Runtime.UserCodeSyntaxError', status: 500 },
  HANDLER_NOT_FOUND: { type: 'Runtime.HandlerNotFound', status: 500 },
  MALFORMED_STREAMING_HANDLER: { type: 'Runtime.MalformedStreamingHandler', status: 500 },
  INVALID_STREAMING_OPERATION: { type: 'Runtime.InvalidStreamingOperation', status: 500 },
  // Running it.
  UNHANDLED_REJECTION: { type: 'Runtime.UnhandledPromiseRejection', status: 500 },
  STRINGIFY_RESULT: { type: 'Runtime.JSONStringifyError', status: 500 },
  INVALID_EVENT: { type: 'Runtime.InvalidEvent', status: 400 },
  TIMEOUT: { type: 'Sandbox.Timedout', status: 504 },
  EXIT: { type: 'Runtime.ExitError', status: 500 },
  NODEJS_EXIT: { type: 'Runtime.NodeJsExit', status: 500 },
  // Configuration and resources.
  CONFIG_INVALID: { type: 'Runtime.InvalidConfig', status: 500 },
  RESOURCE_UNAVAILABLE: { type: 'Runtime.ResourceUnavailable', status: 503 },
  RESOURCE_NOT_DECLARED: { type: 'Runtime.ResourceNotDeclared', status: 500 },
  // HTTP mode: what a caller did wrong or what the instance cannot take now.
  BAD_REQUEST: { type: 'Request.Invalid', status: 400 },
  NOT_FOUND: { type: 'Request.NotFound', status: 404 },
  PAYLOAD_TOO_LARGE: { type: 'Request.PayloadTooLarge', status: 413 },
  HEADERS_TOO_LARGE: { type: 'Request.HeadersTooLarge', status: 431 },
  REQUEST_TIMEOUT: { type: 'Request.Timeout', status: 408 },
  UNSUPPORTED_MEDIA_TYPE: { type: 'Request.UnsupportedMediaType', status: 415 },
  UNSUPPORTED_TRANSFER_CODING: { type: 'Request.UnsupportedTransferCoding', status: 501 },
  INVALID_CLOUDEVENT: { type: 'CloudEvents.Invalid', status: 400 },
  OVERLOADED: { type: 'Runtime.Overloaded', status: 503 },
  DRAINING: { type: 'Runtime.Draining', status: 503 },
  CANCELLED: { type: 'Runtime.Cancelled', status: 499 },
  BAD_HANDLER_RESULT: { type: 'Runtime.MalformedResult', status: 502 },
  FUNCTION_ERROR: { type: 'Function.Error', status: 500 },
} as const;

export type ErrorCode = keyof typeof errorCatalog;

/**
 * An error raised by justfn itself. `name` is the wire name (`Runtime.HandlerNotFound`), so the error
 * payload AWS's runtime would send comes out of {@link toErrorPayload} unchanged.
 *
 * @example
 * throw new JustfnError('HANDLER_NOT_FOUND', 'index.handler is undefined or not exported');
 */
export class JustfnError extends Error {
  declare readonly code: ErrorCode;
  declare readonly status: number;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    // Not enumerable: logs render an error's own fields (Lambda's Text format as AWS's client does), and
    // these are justfn's bookkeeping, which AWS's `Runtime.*` errors do not carry.
    Object.defineProperty(this, 'code', { value: code, configurable: true });
    Object.defineProperty(this, 'status', { value: errorCatalog[code].status, configurable: true });
    // Set on the instance: the stack's first line and `toErrorPayload` both read `name`.
    Object.defineProperty(this, 'name', {
      value: errorCatalog[code].type,
      configurable: true,
      writable: true,
    });
    Error.captureStackTrace?.(this, JustfnError);
  }
}

// The class's own name, whatever a bundler renames it to: loggers report `constructor.name` as the type.
Object.defineProperty(JustfnError, 'name', { value: 'JustfnError' });
shareInstanceof(JustfnError, 'JustfnError');

/** The Node flavour of the Lambda error body: what AWS's Node runtime posts, `trace` and all. */
export interface ErrorPayload {
  errorType: string;
  errorMessage: string;
  trace: string[];
}

/**
 * `String(value)` for a value user code threw or rejected with, which may refuse it (an object without
 * a prototype, a `toString` that throws): then its tag, so reporting it cannot throw in turn.
 *
 * @example
 * safeString(Object.create(null)) // '[object Object]'
 */
export function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return `a ${typeof value} that cannot be converted to a string`;
    }
  }
}

function isErrorLike(value: unknown): value is Error {
  if (value instanceof Error) return true;
  const v = value as { name?: unknown; message?: unknown; stack?: unknown } | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.name === 'string' &&
    typeof v.message === 'string' &&
    typeof v.stack === 'string'
  );
}

// DEL is replaced as AWS's runtime does: RAPID rejects it inside header values.
const escapeDel = (s: string) => s.replaceAll('\x7F', '%7F');

/**
 * Normalises anything a handler throws or rejects with into the Lambda error body, exactly as AWS's Node
 * runtime does: an Error gives its name, message and stack lines; any other value gives `typeof` and
 * `String(value)` with an empty trace.
 *
 * @example
 * toErrorPayload('boom') // { errorType: 'string', errorMessage: 'boom', trace: [] }
 */
export function toErrorPayload(thrown: unknown): ErrorPayload {
  try {
    if (isErrorLike(thrown)) {
      const stack = typeof thrown.stack === 'string' ? thrown.stack : `${thrown.name}: ${thrown.message}`;
      return {
        errorType: escapeDel(String(thrown.name)),
        errorMessage: escapeDel(masked(String(thrown.message))),
        trace: escapeDel(masked(stack)).split('\n'),
      };
    }
    return { errorType: typeof thrown, errorMessage: masked(String(thrown)), trace: [] };
  } catch {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
      trace: [],
    };
  }
}
