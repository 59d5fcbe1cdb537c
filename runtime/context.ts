import { AsyncResource } from 'node:async_hooks';
import { JustfnError } from './errors.js';
import { shareInstanceof } from './shared-class.js';

/** The longest delay Node's timers take (2^31 - 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** `context.identity`: the Amazon Cognito identity of a mobile SDK invoke (the shape of AWS's type). */
export interface CognitoIdentity {
  cognitoIdentityId: string;
  cognitoIdentityPoolId: string;
}

/** `context.clientContext`: what a mobile SDK invoke says of its client (the shape of AWS's type). */
export interface ClientContext {
  client: {
    installationId: string;
    appTitle: string;
    appVersionName: string;
    appVersionCode: string;
    appPackageName: string;
  };
  Custom?: unknown;
  env: { platformVersion: string; platform: string; make: string; model: string; locale: string };
}

/** What one invocation brings: the Runtime API's invoke headers, or what the HTTP source makes up. */
export interface InvocationInfo {
  requestId: string;
  /** Epoch milliseconds. */
  deadlineMs: number;
  invokedFunctionArn: string;
  traceId?: string | undefined;
  /** Parsed from `Lambda-Runtime-Client-Context`: whatever JSON the caller sent. */
  clientContext?: ClientContext | undefined;
  /** Parsed from `Lambda-Runtime-Cognito-Identity`. */
  identity?: CognitoIdentity | undefined;
  tenantId?: string | undefined;
}

/** What stays the same for every invocation of this process. */
export interface FunctionInfo {
  functionName: string;
  functionVersion: string;
  /** A string, as on Lambda. */
  memoryLimitInMB: string;
  logGroupName: string;
  logStreamName: string;
}

/** Settles the invocation: wired by {@link callHandler}, reached through `done`, `succeed` and `fail`. */
export const kSettle = Symbol('justfn.settle');
const kDeadline = Symbol('justfn.deadline');
const kController = Symbol('justfn.controller');
const kShutdown = Symbol('justfn.shutdown');
const kTimer = Symbol('justfn.timer');
const kOnShutdown = Symbol('justfn.onShutdown');
const kCancelled = Symbol('justfn.cancelled');

interface Settle {
  succeed(value: unknown): void;
  fail(error: unknown): void;
}

/**
 * The Lambda context object: every field of AWS's Node context, plus `resources` and `signal`.
 *
 * @example
 * export const handler = async (event, context) => {
 *   const rows = await context.resources.db.query('select 1', { signal: context.signal });
 *   return { left: context.getRemainingTimeInMillis(), rows };
 * };
 */
export class LambdaContext<Resources extends object = object> {
  awsRequestId: string;
  invokedFunctionArn: string;
  functionName: string;
  functionVersion: string;
  memoryLimitInMB: string;
  logGroupName: string;
  logStreamName: string;
  identity: CognitoIdentity | undefined;
  clientContext: ClientContext | undefined;
  tenantId: string | undefined;
  xRayTraceId: string | undefined;
  /** Kept for compatibility; justfn posts a callback's result at once, whatever its value. */
  callbackWaitsForEmptyEventLoop = true;
  /** The resources declared in `justfn.yaml`, open and warm. */
  readonly resources: Resources;

  // The methods are the context's own closures, as on AWS: code takes them off the context
  // (`const { getRemainingTimeInMillis } = context`, `.then(context.succeed, context.fail)`,
  // `setTimeout(context.done, …)`) or copies it (`{ ...context }`), and they must still work.
  getRemainingTimeInMillis = (): number => this[kDeadline] - Date.now();

  done = (error?: unknown, result?: unknown): void => {
    if (error !== undefined && error !== null) this[kSettle]?.fail(error);
    else this[kSettle]?.succeed(result);
  };

  succeed = (result?: unknown): void => this.done(null, result);

  // AWS's runtime reports a bare fail() as the string 'handled'.
  fail = (error?: unknown): void => this.done(error === undefined || error === null ? 'handled' : error);

  [kSettle]: Settle | undefined;
  [kDeadline]: number;
  [kController]: AbortController | undefined;
  [kShutdown]: AbortSignal | undefined;
  [kTimer]: NodeJS.Timeout | undefined;
  [kOnShutdown]: (() => void) | undefined;
  [kCancelled]: unknown;

  constructor(info: InvocationInfo, fn: FunctionInfo, resources: Resources, shutdown?: AbortSignal) {
    this.awsRequestId = info.requestId;
    this.invokedFunctionArn = info.invokedFunctionArn;
    this.functionName = fn.functionName;
    this.functionVersion = fn.functionVersion;
    this.memoryLimitInMB = fn.memoryLimitInMB;
    this.logGroupName = fn.logGroupName;
    this.logStreamName = fn.logStreamName;
    this.identity = info.identity;
    this.clientContext = info.clientContext;
    this.tenantId = info.tenantId;
    this.xRayTraceId = info.traceId;
    this.resources = resources;
    this[kSettle] = undefined;
    this[kDeadline] = info.deadlineMs;
    this[kController] = undefined;
    this[kShutdown] = shutdown;
    this[kTimer] = undefined;
    this[kOnShutdown] = undefined;
    this[kCancelled] = undefined;
  }

  /**
   * Aborts at the deadline, when the process shuts down, and when the caller cancels (a gRPC call).
   * Created on first use, so handlers that never read it pay nothing for it.
   */
  get signal(): AbortSignal {
    let controller = this[kController];
    if (!controller) {
      controller = new AbortController();
      this[kController] = controller;
      if (this[kCancelled] !== undefined) {
        controller.abort(this[kCancelled]);
        return controller.signal;
      }
      const remaining = this.getRemainingTimeInMillis();
      if (remaining <= 0) abortForDeadline(this);
      // Node fires a longer timer at once (TimeoutOverflowWarning): a deadline more than 24.8 days away
      // is none a timer can keep.
      else if (remaining <= MAX_TIMER_MS)
        this[kTimer] = setTimeout(abortForDeadline, remaining, this).unref();
      const shutdown = this[kShutdown];
      if (shutdown?.aborted) controller.abort(shutdown.reason);
      else if (shutdown) {
        // Bound to the invocation's async context: the abort comes from a drain timer, and what the
        // handler's listeners log must still carry its request id.
        const onShutdown = AsyncResource.bind(() => controller?.abort(shutdown.reason));
        this[kOnShutdown] = onShutdown;
        shutdown.addEventListener('abort', onShutdown, { once: true });
      }
    }
    return controller.signal;
  }
}
shareInstanceof(LambdaContext, 'LambdaContext');

function abortForDeadline(context: LambdaContext<object>): void {
  context[kController]?.abort(new JustfnError('TIMEOUT', 'The invocation reached its deadline'));
}

/**
 * The deadline has passed: by the clock, or by `context.signal`, whose timer can fire a millisecond before
 * the clock agrees (timers run on the event loop's clock, the deadline is in `Date.now()` time). A handler
 * that settles because its signal aborted at the deadline has missed it.
 */
export function pastDeadline(context: LambdaContext<object>): boolean {
  if (context.getRemainingTimeInMillis() <= 0) return true;
  const reason: unknown = context[kController]?.signal.reason;
  return reason instanceof JustfnError && reason.code === 'TIMEOUT';
}

/** Aborts `context.signal` now (the deadline passed in HTTP mode) and releases its timer. */
export function abortContext(context: LambdaContext<object>, reason: unknown): void {
  context[kController]?.abort(reason);
  releaseContext(context);
}

/** The caller went away (a cancelled gRPC call): `context.signal` aborts now, or as it is first read. */
export function cancelContext(context: LambdaContext<object>, reason: unknown): void {
  context[kCancelled] = reason;
  abortContext(context, reason);
}

/** The invocation is over: its deadline timer and shutdown listener must not outlive it. */
export function releaseContext(context: LambdaContext<object>): void {
  if (context[kTimer]) clearTimeout(context[kTimer]);
  context[kTimer] = undefined;
  const onShutdown = context[kOnShutdown];
  if (onShutdown) context[kShutdown]?.removeEventListener('abort', onShutdown);
  context[kOnShutdown] = undefined;
}
