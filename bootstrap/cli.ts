import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startEmulator } from '../adapters/emulator/emulator.js';
import { type FunctionInfo, LambdaContext } from '../runtime/context.js';
import { toErrorPayload } from '../runtime/errors.js';
import { loadHandler } from '../runtime/handler-loader.js';
import { invoke } from '../runtime/invoke.js';
import { createLambdaLog } from '../runtime/logging/lambda-log.js';
import { stringifyResult } from '../runtime/result.js';
import { createSequentialScope } from '../runtime/scope.js';
import { awslambda, type StreamSink } from '../runtime/streaming.js';
import { start } from './main.js';
import { readOptions } from './options.js';
import { VERSION } from './version.js';

const USAGE = `justfn ${VERSION}: one Lambda handler on AWS Lambda, Knative and any container

Usage:
  justfn start [handler]                       what bootstrap runs: Lambda or HTTP mode, chosen by the environment
  justfn invoke [handler] [--event FILE|-]     one local invocation; prints the result, exits 1 on a function error
  justfn emulate [handler] [--port 8080]       a local Lambda: Runtime API, invoke endpoint, the function as a child
  justfn --version

[handler] is a handler string (src/app.handler) or a directory holding index.handler.
`;

/** The `justfn` command line. Every command but `start` lives here; `start` is `bootstrap/main.ts`. */
export async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return start(rest);
    case 'invoke':
      return invokeCommand(rest);
    case 'emulate':
      return emulateCommand(rest);
    case '--version':
    case '-v':
      process.stdout.write(`${VERSION}\n`);
      return;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return;
    default:
      fail(`unknown command '${command}'\n\n${USAGE}`);
  }
}

/** `[handler]` may name a directory (its `index.handler`) or be a handler string relative to the task root. */
function resolveTarget(arg: string | undefined, env: NodeJS.ProcessEnv) {
  const options = readOptions(env);
  if (arg && existsSync(arg) && statSync(arg).isDirectory()) {
    return { taskRoot: path.resolve(arg), handler: options.handler ?? 'index.handler', options };
  }
  return {
    taskRoot: path.resolve(options.taskRoot ?? process.cwd()),
    handler: arg ?? options.handler ?? 'index.handler',
    options,
  };
}

async function emulateCommand(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      timeout: { type: 'string' },
    },
  });
  const { taskRoot, handler } = resolveTarget(positionals[0], process.env);
  const timeout = Number(values.timeout ?? process.env.AWS_LAMBDA_FUNCTION_TIMEOUT ?? 300);
  const emulator = await startEmulator({
    handler,
    taskRoot,
    command: [process.execPath, path.join(__dirname, 'main.cjs')],
    env: process.env,
    port: Number(values.port),
    host: values.host,
    timeout,
    ...(process.env.AWS_LAMBDA_FUNCTION_NAME ? { functionName: process.env.AWS_LAMBDA_FUNCTION_NAME } : {}),
    ...(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE
      ? { memorySize: Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE) }
      : {}),
    output: 'inherit',
    report: (line) => process.stderr.write(`${line}\n`),
  }).catch((error: NodeJS.ErrnoException) =>
    fail(
      error.code === 'EADDRINUSE'
        ? `port ${values.port} is already in use (--port to pick another)`
        : error.message,
    ),
  );
  process.stderr.write(
    `justfn emulate: ${handler} in ${taskRoot}, a local Lambda on ${emulator.invokeUrl}\n` +
      `  curl -XPOST "${emulator.invokeUrl}" -d '{"hello":"world"}'\n`,
  );
  const stop = () => void emulator.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function invokeCommand(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { event: { type: 'string' } },
  });
  const { taskRoot, handler: handlerString, options } = resolveTarget(positionals[0], process.env);
  const event = readEvent(values.event);
  // Logs go to stderr, so stdout carries the result alone (`justfn invoke | jq`).
  const scope = createSequentialScope();
  const log = createLambdaLog({
    format: options.logFormat ?? 'Text',
    level: 'TRACE',
    scope,
    stdout: (line) => process.stderr.write(line),
  });
  Object.assign(console, {
    log: log.log,
    info: log.info,
    warn: log.warn,
    error: log.error,
    debug: log.debug,
  });
  if (!options.noGlobalAwslambda) Object.assign(globalThis, { awslambda });

  let handler: Awaited<ReturnType<typeof loadHandler>>;
  try {
    handler = await loadHandler(handlerString, { taskRoot });
  } catch (error) {
    log.logError('Init Error', error);
    process.stdout.write(`${JSON.stringify(toErrorPayload(error))}\n`);
    process.exit(1);
  }
  const timeout = Number(process.env.AWS_LAMBDA_FUNCTION_TIMEOUT ?? 300);
  const info = {
    requestId: crypto.randomUUID(),
    deadlineMs: Date.now() + timeout * 1000,
    invokedFunctionArn: `arn:aws:lambda:us-east-1:012345678912:function:${options.functionName ?? 'justfn'}`,
  };
  const functionInfo: FunctionInfo = {
    functionName: options.functionName ?? 'justfn',
    functionVersion: options.functionVersion,
    memoryLimitInMB: options.memorySize ?? '3008',
    logGroupName: `/aws/lambda/${options.functionName ?? 'justfn'}`,
    logStreamName: '$LATEST',
  };
  const outcome = await scope.run(info, () =>
    invoke(handler, event, new LambdaContext(info, functionInfo, {}), {
      openStream: () => stdoutSink(),
      enforceDeadline: timeout,
    }),
  );
  if (outcome.ok) {
    if (outcome.streamed) process.exit(0);
    try {
      process.stdout.write(`${stringifyResult(outcome.value)}\n`);
      process.exit(0);
    } catch (error) {
      log.logError('Invoke Error', error);
      process.stdout.write(`${JSON.stringify(toErrorPayload(error))}\n`);
      process.exit(1);
    }
  }
  log.logError('Invoke Error', outcome.thrown);
  if (!outcome.streamed) process.stdout.write(`${JSON.stringify(outcome.error)}\n`);
  process.exit(1);
}

function readEvent(file: string | undefined): unknown {
  if (file === undefined) return {};
  const text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    fail(`--event ${file}: not JSON (${(error as Error).message})`);
  }
}

function stdoutSink(): StreamSink {
  return {
    start() {},
    write: (chunk, callback) => process.stdout.write(chunk, callback),
    end: (callback) => process.stdout.write('', callback),
    fail: async (error) => {
      process.stderr.write(`\n${JSON.stringify(error)}\n`);
    },
  };
}

function fail(message: string): never {
  process.stderr.write(`justfn: ${message}\n`);
  process.exit(2);
}
