/**
 * Every setting justfn reads from the environment, in one table: the variable, its default, how it is
 * parsed, and what it means. `readOptions` turns an environment into a frozen object once, at start;
 * nothing below `bootstrap/` reads `process.env`. The README and `docs/configuration.md` list the same
 * table, and a test keeps them in step.
 */

type Parser<T> = (raw: string, name: string) => T;

interface Option<T> {
  /** The variables, first one set wins. */
  env: readonly string[];
  /** The variables Lambda mode reads instead, where AWS's runtime ignores some of `env`. */
  lambdaEnv?: readonly string[];
  default: T;
  /** How the default reads in the docs, when `String(default)` would not say it. */
  shown?: string;
  parse: Parser<T>;
  doc: string;
}

const text: Parser<string> = (raw) => raw;
const optionalText: Parser<string | undefined> = (raw) => raw;

/**
 * A whole number from `min` to `max`, or an {@link OptionError} naming the variable (or flag) and the range.
 *
 * @example
 * integer(0, 65535)('8080', 'PORT'); // 8080
 */
export const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER): Parser<number> =>
  (raw, name) => {
    const value = Number(raw);
    if (!/^\s*-?\d+\s*$/.test(raw) || value < min || value > max) {
      throw new OptionError(`${name}=${JSON.stringify(raw)}: expected a whole number from ${min} to ${max}`);
    }
    return value;
  };

const flag: Parser<boolean> = (raw, name) => {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off|)$/i.test(raw)) return false;
  throw new OptionError(
    `${name}=${JSON.stringify(raw)}: expected 1, true, yes or on, or 0, false, no or off`,
  );
};

const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw, name) => {
    const found = values.find((v) => v.toLowerCase() === raw.trim().toLowerCase());
    if (!found) throw new OptionError(`${name}=${JSON.stringify(raw)}: expected one of ${values.join(', ')}`);
    return found;
  };

const optionalOneOf =
  <T extends string>(...values: T[]): Parser<T | undefined> =>
  (raw, name) =>
    raw === '' ? undefined : oneOf(...values)(raw, name);

/**
 * A variable AWS's runtime reads is read as it reads it, so that what starts there starts here: a value
 * it would ignore (`AWS_LAMBDA_LOG_LEVEL=WARNING`) means what it means there, not a failed start. The
 * same option's own variables (`LOG_LEVEL`, `JUSTFN_LOG_FORMAT`) stay strict.
 */
const asAws =
  <T>(strict: Parser<T>, aws: (raw: string) => T): Parser<T> =>
  (raw, name) =>
    name.startsWith('AWS_') ? aws(raw) : strict(raw, name);

export class OptionError extends Error {
  override name = 'OptionError';
}

const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

export const optionTable = {
  mode: {
    env: ['JUSTFN_MODE'],
    default: 'auto',
    parse: oneOf('auto', 'lambda', 'http'),
    doc: '`lambda`, `http` or `auto` (Lambda when `AWS_LAMBDA_RUNTIME_API` is set)',
  },
  handler: {
    env: ['_HANDLER'],
    default: undefined,
    shown: '`index.handler`',
    parse: optionalText,
    doc: 'handler string `path/module.export`; the first command-line argument and `handler:` in `justfn.yaml` also set it',
  },
  taskRoot: {
    env: ['LAMBDA_TASK_ROOT'],
    default: undefined,
    shown: 'the working directory',
    parse: optionalText,
    doc: 'where the handler and `justfn.yaml` live',
  },
  configFile: {
    env: ['JUSTFN_CONFIG'],
    default: undefined,
    shown: '`$LAMBDA_TASK_ROOT/justfn.yaml` if present',
    parse: optionalText,
    doc: 'the service description',
  },
  port: { env: ['PORT'], default: 8080, parse: integer(0, 65535), doc: 'HTTP port (Knative sets it)' },
  host: {
    env: ['JUSTFN_HOST'],
    default: '0.0.0.0',
    parse: text,
    doc: 'address the HTTP server binds',
  },
  httpEvent: {
    env: ['JUSTFN_HTTP_EVENT'],
    default: 'apigw-v2',
    parse: oneOf('apigw-v2', 'apigw-v1', 'alb'),
    doc: 'the event plain HTTP requests become: `apigw-v2`, `apigw-v1`, `alb`',
  },
  albMultiValue: {
    env: ['JUSTFN_ALB_MULTI_VALUE'],
    default: false,
    shown: 'off',
    parse: flag,
    doc: 'ALB events with `multiValueHeaders` and `multiValueQueryStringParameters` (the target group setting)',
  },
  timeout: {
    env: ['JUSTFN_TIMEOUT'],
    default: 300,
    parse: integer(1, 86_400),
    doc: 'seconds per invocation in HTTP mode (then 504)',
  },
  concurrency: {
    env: ['JUSTFN_CONCURRENCY'],
    default: 64,
    parse: integer(1, 100_000),
    doc: 'invocations running at once in HTTP mode',
  },
  queue: {
    env: ['JUSTFN_QUEUE'],
    default: 640,
    parse: integer(0, 1_000_000),
    doc: 'requests waiting for a free slot in HTTP mode (then 503 with `Retry-After`)',
  },
  maxBody: {
    env: ['JUSTFN_MAX_BODY'],
    default: 6_291_456,
    parse: integer(0, 1_073_741_824),
    doc: 'request body limit in bytes (then 413)',
  },
  bodyTimeout: {
    env: ['JUSTFN_BODY_TIMEOUT'],
    default: 120,
    parse: integer(1, 3_600),
    doc: 'seconds for a request to arrive whole, headers and body, in HTTP mode (then 408; headers alone get at most 10); also the most a connection may send nothing on the metrics port (10 at most) and stay without a call in gRPC mode (65 at most)',
  },
  drainTimeout: {
    env: ['JUSTFN_DRAIN_TIMEOUT'],
    default: 30,
    parse: integer(0, 3_600),
    doc: 'seconds to finish in-flight work after SIGTERM',
  },
  idleGc: {
    env: ['JUSTFN_IDLE_GC'],
    default: 10,
    parse: integer(0, 86_400),
    doc: 'seconds without a request (HTTP) or call (gRPC) after which the memory a burst grew is given back to the system (a full garbage collection, then one more 6 s later); 0 turns it off, for a service whose next burst must find the young generation still grown',
  },
  metricsPort: {
    env: ['JUSTFN_METRICS_PORT'],
    default: 9464,
    parse: integer(0, 65535),
    doc: 'Prometheus `/metrics` port, not `PORT`; 0 turns it off',
  },
  invokeApi: {
    env: ['JUSTFN_INVOKE_API'],
    default: false,
    shown: 'off',
    parse: flag,
    doc: 'serve the raw Lambda invoke endpoint in HTTP mode',
  },
  exposeErrors: {
    env: ['JUSTFN_EXPOSE_ERRORS'],
    default: false,
    shown: 'off',
    parse: flag,
    doc: 'return error details to HTTP callers (local work only)',
  },
  logLevel: {
    env: ['AWS_LAMBDA_LOG_LEVEL', 'LOG_LEVEL'],
    // Functions set LOG_LEVEL for their own logger (Powertools, pino: `silent`, `warning`); AWS's runtime
    // leaves it to them, and so does Lambda mode.
    lambdaEnv: ['AWS_LAMBDA_LOG_LEVEL'],
    default: undefined,
    shown: '`info`; Lambda mode: everything, as on AWS',
    parse: asAws(optionalOneOf(...levels), (raw) =>
      levels.find((level) => level === raw.trim().toLowerCase()),
    ),
    doc: 'log level: `trace`, `debug`, `info`, `warn`, `error`, `fatal`; Lambda mode reads only `AWS_LAMBDA_LOG_LEVEL`, as AWS does, and as AWS takes any other value of it for the default',
  },
  logFormat: {
    env: ['AWS_LAMBDA_LOG_FORMAT', 'JUSTFN_LOG_FORMAT'],
    default: undefined,
    shown: 'JSON (HTTP mode), Text (Lambda)',
    parse: asAws(optionalOneOf('JSON', 'Text'), (raw) =>
      raw.trim().toUpperCase() === 'JSON' ? 'JSON' : 'Text',
    ),
    doc: 'log format: `JSON` or `Text` (any other value of `AWS_LAMBDA_LOG_FORMAT` is Text, as on AWS)',
  },
  runtimeApi: {
    env: ['AWS_LAMBDA_RUNTIME_API'],
    default: undefined,
    shown: 'unset',
    parse: optionalText,
    doc: 'the Lambda Runtime API `host:port` (set by Lambda); selects Lambda mode',
  },
  functionName: {
    env: ['AWS_LAMBDA_FUNCTION_NAME', 'K_SERVICE'],
    default: undefined,
    shown: '`name:` in `justfn.yaml`, else `justfn`',
    parse: optionalText,
    doc: '`context.functionName`',
  },
  functionVersion: {
    env: ['AWS_LAMBDA_FUNCTION_VERSION', 'K_REVISION'],
    default: '$LATEST',
    parse: text,
    doc: '`context.functionVersion`',
  },
  configuration: {
    env: ['K_CONFIGURATION'],
    default: undefined,
    shown: 'unset',
    parse: optionalText,
    doc: 'the Knative Configuration, logged at start',
  },
  memorySize: {
    env: ['AWS_LAMBDA_FUNCTION_MEMORY_SIZE'],
    default: undefined,
    shown: '`memory:` in `justfn.yaml`, else the cgroup limit, else 3008',
    // Lambda's range; the context gives it as a string, as Lambda's does.
    parse: (raw, name) => String(integer(128, 10_240)(raw, name)),
    doc: '`context.memoryLimitInMB` (128–10240, as Lambda allows)',
  },
  logGroupName: {
    env: ['AWS_LAMBDA_LOG_GROUP_NAME'],
    default: undefined,
    shown: '`/aws/lambda/<function name>`',
    parse: optionalText,
    doc: '`context.logGroupName`',
  },
  logStreamName: {
    env: ['AWS_LAMBDA_LOG_STREAM_NAME'],
    default: undefined,
    shown: 'the host name',
    parse: optionalText,
    doc: '`context.logStreamName`',
  },
  noGlobalAwslambda: {
    env: ['AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA'],
    default: false,
    shown: 'off',
    // Exactly these two values, as AWS's runtime reads it.
    parse: (raw) => raw === '1' || raw === 'true',
    doc: 'do not install the global `awslambda` object (`1` or `true`; any other value leaves it, as on AWS)',
  },
  telemetryFd: {
    env: ['_LAMBDA_TELEMETRY_LOG_FD'],
    default: undefined,
    shown: 'unset',
    parse: (raw, name) => integer(0)(raw, name) as number | undefined,
    doc: 'file descriptor for framed Lambda log records (set by Lambda)',
  },
  maxConcurrency: {
    env: ['AWS_LAMBDA_MAX_CONCURRENCY'],
    default: undefined,
    shown: 'unset',
    parse: (raw, name) => integer(1, 10_000)(raw, name) as number | undefined,
    doc: 'Lambda Managed Instances: invocations at once (set by Lambda)',
  },
  initializationType: {
    env: ['AWS_LAMBDA_INITIALIZATION_TYPE'],
    default: 'on-demand',
    parse: text,
    doc: '`snap-start` runs the SnapStart restore protocol (set by Lambda)',
  },
  revalidateAfter: {
    env: ['JUSTFN_REVALIDATE_AFTER'],
    default: 60,
    parse: integer(1, 86_400),
    doc: 'seconds of idle (wall clock) after which resources are re-validated before the next invocation',
  },
  lambdaSigterm: {
    env: ['JUSTFN_LAMBDA_SIGTERM'],
    default: 'auto',
    parse: (raw, name): 'auto' | boolean => (raw.trim().toLowerCase() === 'auto' ? 'auto' : flag(raw, name)),
    doc: 'Lambda: ask for SIGTERM at shutdown (an internal extension) to run `onShutdown` hooks and close the resources; `auto`: when there are either',
  },
  verbose: {
    env: ['AWS_LAMBDA_RUNTIME_VERBOSE'],
    default: 0,
    // As AWS's runtime reads it: a number is clamped to 0–3, anything else is 0.
    parse: (raw) => Math.min(Math.max(Number.parseInt(raw, 10) || 0, 0), 3),
    doc: "Lambda mode's own debug lines, as AWS's client prints them: 1 init (`RUNTIME LOADER`, `RUNTIME INIT`), 2 each Runtime API exchange (`RUNTIME RAPID`), 3 with the invocation's headers (out of range: the nearest; not a number: 0)",
  },
} satisfies Record<string, Option<unknown>>;

type Table = typeof optionTable;
export type Options = { readonly [K in keyof Table]: Table[K]['default'] | ReturnType<Table[K]['parse']> };

/**
 * Reads every option once. Empty variables count as unset. A value that does not parse is an
 * {@link OptionError} naming the variable, never a silent default.
 *
 * @example
 * const options = readOptions(process.env);
 * options.port // 8080
 */
export function readOptions(
  env: Record<string, string | undefined>,
  /** Read as Lambda mode reads them whatever the environment says: the function runs on a local Lambda. */
  asLambda = false,
): Options {
  const out: Record<string, unknown> = {};
  const mode = env.JUSTFN_MODE?.trim().toLowerCase() || 'auto';
  const lambda = asLambda || mode === 'lambda' || (mode === 'auto' && Boolean(env.AWS_LAMBDA_RUNTIME_API));
  for (const [key, option] of Object.entries(optionTable) as [string, Option<unknown>][]) {
    const names = (lambda && option.lambdaEnv) || option.env;
    const name = names.find((n) => env[n] !== undefined && env[n] !== '');
    out[key] = name === undefined ? option.default : option.parse(env[name]!, name);
  }
  return Object.freeze(out) as Options;
}

/** The settings `justfn.yaml` may give, by option: what the file says, when it says it. */
export type FileSettings = Partial<{ -readonly [K in keyof Options]: Options[K] }>;

/**
 * Environment over file over defaults: a setting from `justfn.yaml` is taken only where no variable of
 * that option is set.
 *
 * @example
 * mergeFileSettings(readOptions(env), env, { timeout: 30, port: 9000 }).timeout // 30, unless JUSTFN_TIMEOUT is set
 */
export function mergeFileSettings(
  options: Options,
  env: Record<string, string | undefined>,
  file: FileSettings,
): Options {
  const merged: Record<string, unknown> = { ...options };
  for (const [key, value] of Object.entries(file)) {
    const option = (optionTable as Record<string, Option<unknown>>)[key];
    if (value === undefined || !option) continue;
    if (option.env.some((name) => env[name] !== undefined && env[name] !== '')) continue;
    merged[key] = value;
  }
  return Object.freeze(merged) as Options;
}
