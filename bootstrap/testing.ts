// `justfn/testing`: what a function's own tests import. One invocation in-process, or a local Lambda.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type EmulatorOptions, startEmulator } from '../adapters/emulator/emulator.js';
import { type FunctionInfo, type InvocationInfo, LambdaContext } from '../runtime/context.js';
import type { ErrorPayload } from '../runtime/errors.js';
import { describeHandler, loadHandler } from '../runtime/handler-loader.js';
import { invoke } from '../runtime/invoke.js';
import type { StreamHead } from '../runtime/streaming.js';

export interface InvokeHandlerOptions {
  /** Where a handler string is resolved from (default: the working directory). */
  taskRoot?: string;
  /** Overrides of the context's fields. */
  context?: Partial<FunctionInfo & InvocationInfo>;
  /** `context.resources`. */
  resources?: object;
  /** Seconds before the invocation is answered as timed out (default 300). */
  timeout?: number;
}

export type TestOutcome =
  | { ok: true; value: unknown; stream?: { head: StreamHead | undefined; body: Buffer } }
  | { ok: false; error: ErrorPayload; thrown: unknown };

/**
 * One invocation, in-process, with exactly the runtime's semantics: handler kinds, context, error
 * payloads, streaming. For unit tests of a function.
 *
 * @example
 * import { invokeHandler } from 'justfn/testing';
 * const outcome = await invokeHandler(handler, { rawPath: '/users/1' });
 * expect(outcome).toMatchObject({ ok: true, value: { statusCode: 200 } });
 */
export async function invokeHandler(
  handler: ((...args: never[]) => unknown) | string,
  event: unknown,
  options: InvokeHandlerOptions = {},
): Promise<TestOutcome> {
  const taskRoot = path.resolve(options.taskRoot ?? process.cwd());
  const loaded =
    typeof handler === 'string'
      ? await loadHandler(handler, { taskRoot })
      : describeHandler(handler as (...args: unknown[]) => unknown, handler.name || 'handler');
  const timeout = options.timeout ?? 300;
  const overrides = options.context ?? {};
  const info: InvocationInfo = {
    requestId: overrides.requestId ?? crypto.randomUUID(),
    deadlineMs: overrides.deadlineMs ?? Date.now() + timeout * 1000,
    invokedFunctionArn: overrides.invokedFunctionArn ?? 'arn:aws:lambda:us-east-1:012345678912:function:test',
    traceId: overrides.traceId,
    clientContext: overrides.clientContext,
    identity: overrides.identity,
    tenantId: overrides.tenantId,
  };
  const functionInfo: FunctionInfo = {
    functionName: overrides.functionName ?? 'test',
    functionVersion: overrides.functionVersion ?? '$LATEST',
    memoryLimitInMB: overrides.memoryLimitInMB ?? '128',
    logGroupName: overrides.logGroupName ?? '/aws/lambda/test',
    logStreamName: overrides.logStreamName ?? '$LATEST',
  };
  const chunks: Buffer[] = [];
  let head: StreamHead | undefined;
  const outcome = await invoke(
    loaded,
    event,
    new LambdaContext(info, functionInfo, options.resources ?? {}),
    {
      enforceDeadline: true,
      openStream: () => ({
        start: (h) => {
          head = h;
        },
        write: (chunk, done) => {
          chunks.push(Buffer.from(chunk));
          done();
        },
        end: (done) => done(),
        fail: async () => {},
      }),
    },
  );
  if (!outcome.ok) return { ok: false, error: outcome.error, thrown: outcome.thrown };
  return outcome.streamed
    ? { ok: true, value: undefined, stream: { head, body: Buffer.concat(chunks) } }
    : { ok: true, value: outcome.value };
}

/**
 * A local Lambda for integration tests: the Runtime API, the invoke endpoint on a free port, and the
 * function's runtime as a child process, exactly as `justfn emulate` runs it.
 *
 * @example
 * const lambda = await startLocalLambda({ handler: 'index.handler', taskRoot: import.meta.dirname });
 * const res = await fetch(lambda.invokeUrl, { method: 'POST', body: '{}' });
 * await lambda.close();
 */
export function startLocalLambda(
  options: Omit<EmulatorOptions, 'command'> & { command?: readonly string[] },
): ReturnType<typeof startEmulator> {
  return startEmulator({
    port: 0,
    output: 'inherit',
    ...options,
    command: options.command ?? [
      process.execPath,
      path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.cjs'),
    ],
  });
}
