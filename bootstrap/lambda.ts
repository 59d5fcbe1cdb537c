import { hostname } from 'node:os';
import {
  createLambdaSource,
  type LambdaInvocation,
  RuntimeApiFatalError,
} from '../adapters/lambda/lambda-source.js';
import { createRuntimeApiClient } from '../adapters/lambda/runtime-api-client.js';
import type { FunctionInfo } from '../runtime/context.js';
import { JustfnError, toErrorPayload } from '../runtime/errors.js';
import { loadHandler } from '../runtime/handler-loader.js';
import { createLambdaLog, type LambdaLevel, type LambdaLog } from '../runtime/logging/lambda-log.js';
import { runLoop, type Source } from '../runtime/loop.js';
import { createSequentialScope } from '../runtime/scope.js';
import { awslambda } from '../runtime/streaming.js';
import type { Options } from './options.js';
import { VERSION } from './version.js';

/** AWS's exit codes: an uncaught exception, an unhandled rejection (`RICv3 src/index.mjs`). */
export const EXIT_UNCAUGHT_EXCEPTION = 129;
export const EXIT_UNHANDLED_REJECTION = 128;
/** The Runtime API failed in a way the process cannot go on from. */
export const EXIT_RUNTIME_API = 1;

export interface LambdaStart {
  options: Options;
  handler: string;
  taskRoot: string;
  importModule: (specifier: string) => Promise<unknown>;
}

/**
 * Lambda mode: the console speaks Lambda's log formats, the handler is loaded (or `/init/error` is posted
 * and the process exits), then the loop runs until the Runtime API goes away.
 */
export async function startLambda(start: LambdaStart): Promise<never> {
  const { options } = start;
  const scope = createSequentialScope();
  const log = createLambdaLog({
    format: options.logFormat ?? 'Text',
    level: (options.logLevel?.toUpperCase() ?? 'TRACE') as LambdaLevel,
    scope,
    telemetryFd: options.telemetryFd,
    stdout: (line) => process.stdout.write(line),
  });
  patchConsole(log);
  if (!options.noGlobalAwslambda) Object.assign(globalThis, { awslambda });

  const api = createRuntimeApiClient(options.runtimeApi!, { userAgent: `justfn/${VERSION}` });
  let current: LambdaInvocation | undefined;
  let initialised = false;

  // An error nobody caught belongs to the invocation in flight, or to init; then the process ends, as on AWS.
  const crash = async (label: string, error: unknown, code: number) => {
    log.logError(label, error);
    const payload = toErrorPayload(error);
    try {
      if (current) await api.postError(current.info.requestId, payload, current.invocationId);
      else if (!initialised) await api.postInitError(payload);
    } finally {
      process.exit(code);
    }
  };
  process.on(
    'uncaughtException',
    (error) => void crash('Uncaught Exception', error, EXIT_UNCAUGHT_EXCEPTION),
  );
  process.on('unhandledRejection', (reason, promise) => {
    const error = new JustfnError('UNHANDLED_REJECTION', String(reason));
    Object.assign(error, { reason, promise });
    void crash('Unhandled Promise Rejection', error, EXIT_UNHANDLED_REJECTION);
  });

  let handler: Awaited<ReturnType<typeof loadHandler>>;
  try {
    handler = await loadHandler(start.handler, {
      taskRoot: start.taskRoot,
      importModule: start.importModule,
    });
  } catch (error) {
    await crash('Init Error', error, EXIT_UNCAUGHT_EXCEPTION);
    throw error;
  }
  initialised = true;

  const source = createLambdaSource({
    api,
    log,
    setTraceId: (traceId) => {
      if (traceId) process.env._X_AMZN_TRACE_ID = traceId;
      else delete process.env._X_AMZN_TRACE_ID;
    },
  });
  const tracked: Source<LambdaInvocation> = {
    next: async () => (current = await source.next()),
    complete: async (invocation, outcome) => {
      await source.complete(invocation, outcome);
      current = undefined;
    },
    openStream: (invocation) => source.openStream!(invocation),
  };
  try {
    await runLoop(tracked, { handler, functionInfo: functionInfo(options), scope });
  } catch (error) {
    log.logError(error instanceof RuntimeApiFatalError ? 'Runtime API Error' : 'Runtime Error', error);
    process.exit(EXIT_RUNTIME_API);
  }
  process.exit(0);
}

function functionInfo(options: Options): FunctionInfo {
  const functionName = options.functionName ?? 'justfn';
  return {
    functionName,
    functionVersion: options.functionVersion,
    memoryLimitInMB: options.memorySize ?? '3008',
    logGroupName: options.logGroupName ?? `/aws/lambda/${functionName}`,
    logStreamName: options.logStreamName ?? hostname(),
  };
}

function patchConsole(log: LambdaLog): void {
  const target = console as unknown as Record<string, unknown>;
  for (const method of ['trace', 'debug', 'info', 'log', 'warn', 'error', 'fatal'] as const) {
    target[method] = log[method];
  }
}
