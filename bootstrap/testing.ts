// `justfn/testing`: what a function's own tests import. One invocation in-process, or a local Lambda.
import { statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  EMULATOR_DEFAULTS,
  type Emulator,
  type EmulatorOptions,
  emulatorArn,
  startEmulator,
} from '../adapters/emulator/emulator.js';
import { type FunctionInfo, type InvocationInfo, LambdaContext } from '../runtime/context.js';
import { type ErrorPayload, toErrorPayload } from '../runtime/errors.js';
import { describeHandler, loadHandler } from '../runtime/handler-loader.js';
import { invoke } from '../runtime/invoke.js';
import { createResourcesObject } from '../runtime/resources/resources-object.js';
import { stringifyResult } from '../runtime/result.js';
import { installAwslambda, type StreamHead } from '../runtime/streaming.js';
import { emulatedFunction } from './commands/emulate.js';
import { readOptions } from './options.js';
import { resolveService } from './service.js';

// As the runtime installs it before it loads a function: a module written the README's way
// (`exports.handler = awslambda.streamifyResponse(...)`) loads in a test that imports justfn/testing first.
if (
  typeof (globalThis as { awslambda?: { streamifyResponse?: unknown } }).awslambda?.streamifyResponse !==
  'function'
)
  installAwslambda();

export interface InvokeHandlerOptions {
  /** Where a handler string is resolved from (default: the working directory). */
  taskRoot?: string;
  /**
   * Overrides of the context's fields (`awsRequestId`, `functionName`, `memoryLimitInMB`, `xRayTraceId`,
   * …) and of the invocation's `deadlineMs`. `requestId` and `traceId` are the first and the last under
   * the names the runtime gives them.
   */
  context?: Partial<FunctionInfo & InvocationInfo & { awsRequestId: string; xRayTraceId: string }>;
  /**
   * `context.resources`: the clients (or test doubles) by name. Reading a name not given throws
   * `Runtime.ResourceNotDeclared`, as in the runtime.
   */
  resources?: Record<string, unknown>;
  /**
   * Seconds before the invocation is answered as timed out (default 300). A handler string's ES module
   * gets as long again to load: one whose top-level await has not finished by then rejects with
   * `Runtime.ImportModuleError`. A test runner keeps the event loop busy, so without it such a module would
   * hang the test until the runner's own timeout: give one below the runner's (5 s in vitest and Jest).
   */
  timeout?: number;
}

export type TestOutcome =
  | { ok: true; value: unknown; stream?: { head: StreamHead | undefined; body: Buffer } }
  | { ok: false; error: ErrorPayload; thrown: unknown };

/**
 * One invocation, in-process, with the runtime's semantics: handler kinds, context, error payloads,
 * streaming, the deadline, the global `awslambda`, `context.resources` refusing undeclared names, and the
 * result as Lambda would send it (`undefined` is `null`; one `JSON.stringify` refuses is
 * `Runtime.JSONStringifyError`). For unit tests of a function. A handler string's `justfn.yaml` is not
 * read: `timeout` and `context` set what it would. A handler string that does not load rejects with the
 * error Lambda's init would report (`Runtime.UserCodeSyntaxError`, `Runtime.ImportModuleError`, …).
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
  const timeout = options.timeout ?? 300;
  const loaded =
    typeof handler === 'string'
      ? await loadHandler(handler, { taskRoot, importTimeoutMs: timeout * 1000 })
      : describeHandler(handler as (...args: unknown[]) => unknown, handler.name || 'handler');
  const overrides = options.context ?? {};
  // `justfn emulate`'s defaults, which are AWS's emulator's.
  const functionName = overrides.functionName ?? EMULATOR_DEFAULTS.functionName;
  const info: InvocationInfo = {
    requestId: overrides.awsRequestId ?? overrides.requestId ?? crypto.randomUUID(),
    deadlineMs: overrides.deadlineMs ?? Date.now() + timeout * 1000,
    invokedFunctionArn: overrides.invokedFunctionArn ?? emulatorArn(functionName),
    traceId: overrides.xRayTraceId ?? overrides.traceId,
    clientContext: overrides.clientContext,
    identity: overrides.identity,
    tenantId: overrides.tenantId,
  };
  const functionInfo: FunctionInfo = {
    functionName,
    functionVersion: overrides.functionVersion ?? '$LATEST',
    memoryLimitInMB: overrides.memoryLimitInMB ?? String(EMULATOR_DEFAULTS.memorySize),
    logGroupName: overrides.logGroupName ?? EMULATOR_DEFAULTS.logGroupName,
    logStreamName: overrides.logStreamName ?? EMULATOR_DEFAULTS.logStreamName,
  };
  const chunks: Buffer[] = [];
  let head: StreamHead | undefined;
  const outcome = await invoke(
    loaded,
    event,
    new LambdaContext(info, functionInfo, resourcesOf(options.resources ?? {})),
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
  if (outcome.streamed) return { ok: true, value: undefined, stream: { head, body: Buffer.concat(chunks) } };
  let sent: string;
  try {
    sent = stringifyResult(outcome.value);
  } catch (error) {
    return { ok: false, error: toErrorPayload(error), thrown: error };
  }
  // What the caller receives is JSON: a Date is its string, a toJSON its result, an undefined member gone.
  return { ok: true, value: JSON.parse(sent) };
}

function resourcesOf(given: Record<string, unknown>): object {
  return createResourcesObject(Object.keys(given), (name) => given[name], "invokeHandler's resources");
}

/**
 * What {@link startLocalLambda} gives, for a variable a test's `beforeAll` sets and its `afterAll` closes.
 *
 * @example
 * let lambda: LocalLambda;
 * beforeAll(async () => (lambda = await startLocalLambda({ taskRoot: import.meta.dirname })));
 * afterAll(() => lambda.close());
 */
export type LocalLambda = Emulator;

/** What {@link startLocalLambda} takes: the emulator's options, each with the default `justfn emulate` uses. */
export type LocalLambdaOptions = Partial<EmulatorOptions> & { taskRoot: string };

/**
 * A local Lambda for integration tests: the Runtime API, the invoke endpoint on a free port, and the
 * function's runtime as a child process, as `justfn emulate` runs it: `justfn.yaml`'s handler, timeout,
 * memory and name (a test's own options win), and the test process's environment unless `env` is given.
 * A `justfn.yaml` that does not load rejects with its problems.
 *
 * @example
 * const lambda = await startLocalLambda({ taskRoot: import.meta.dirname });
 * const res = await fetch(lambda.invokeUrl, { method: 'POST', body: '{}' });
 * await lambda.close();
 */
export async function startLocalLambda(options: LocalLambdaOptions): Promise<LocalLambda> {
  const taskRoot = path.resolve(options.taskRoot);
  if (!statSync(taskRoot, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`startLocalLambda: taskRoot ${taskRoot}: no such directory`);
  }
  const env = options.env ?? process.env;
  const service = await resolveService({
    options: readOptions(env, true),
    env,
    handlerArg: options.handler,
    taskRoot,
    importModule: (specifier) => import(specifier),
  });
  return startEmulator({
    port: 0,
    output: 'inherit',
    ...emulatedFunction(service, env),
    ...options,
    handler: service.handler,
    taskRoot: service.taskRoot,
    env,
    command: options.command ?? [process.execPath, path.join(distDir(), 'main.cjs')],
  });
}

/** Where this file is: `dist/`, from the ES-module build (`import.meta`) or the CommonJS one (`__dirname`). */
function distDir(): string {
  return typeof __dirname === 'string' ? __dirname : path.dirname(fileURLToPath(import.meta.url));
}
