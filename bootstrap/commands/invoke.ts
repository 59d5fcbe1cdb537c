import { Console } from 'node:console';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { emulatorArn } from '../../adapters/emulator/emulator.js';
import { LambdaContext } from '../../runtime/context.js';
import { JustfnError, safeString, toErrorPayload } from '../../runtime/errors.js';
import { loadHandler } from '../../runtime/handler-loader.js';
import { endDrained, invoke } from '../../runtime/invoke.js';
import {
  createLambdaLog,
  type LambdaLevel,
  type LambdaLog,
  patchConsole,
  resourceLog,
} from '../../runtime/logging/lambda-log.js';
import { stringifyResult } from '../../runtime/result.js';
import { createSequentialScope } from '../../runtime/scope.js';
import { installAwslambda, type StreamSink } from '../../runtime/streaming.js';
import { readOptions } from '../options.js';
import { createRegistry, functionInfoOf, maskSecretsOf } from '../service.js';
import { fail, loadTarget } from './target.js';

/**
 * `justfn invoke [handler] [--event FILE|-]`: one local invocation — init (the handler, `justfn.yaml`'s
 * resources), the invocation, close — with the result on stdout and the logs on stderr (`| jq` works).
 * Exits 1 on an init or function error, with the error payload on stdout.
 */
export async function invokeCommand(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { event: { type: 'string' } },
  });
  const event = readEvent(values.event);
  // As Lambda mode reads them (AWS_LAMBDA_LOG_FORMAT, AWS_LAMBDA_LOG_LEVEL, the global awslambda); a
  // variable that does not parse is a usage error (exit 2), before anything runs.
  const options = readOptions(process.env, true);
  const scope = createSequentialScope();
  const log = createLambdaLog({
    format: options.logFormat ?? 'Text',
    level: (options.logLevel?.toUpperCase() ?? 'TRACE') as LambdaLevel,
    scope,
    stdout: (line) => process.stderr.write(line),
  });
  patchConsole(log);
  // Lambda mode leaves `dir` writing to stdout, as AWS's client does; here stdout is the result's.
  console.dir = new Console(process.stderr).dir;
  if (!options.noGlobalAwslambda) installAwslambda(scope);
  // What escapes the handler (a throw from a timer, a rejection nobody handles) fails the invocation, as on
  // Lambda: logged, its payload on stdout, exit 1.
  let invoking = false;
  const crash = (label: string) => (error: unknown) => {
    invoking = false;
    log.logError(label, error);
    process.stdout.write(`${JSON.stringify(toErrorPayload(error))}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', crash('Uncaught Exception'));
  process.on('unhandledRejection', (reason) =>
    crash('Unhandled Promise Rejection')(new JustfnError('UNHANDLED_REJECTION', safeString(reason))),
  );

  const service = await loadTarget(positionals, process.env, true).catch((error) => initFailed(log, error));
  maskSecretsOf(service);
  const grpc = service.config?.config.grpc;
  if (grpc) {
    fail(
      `invoke: this is a gRPC function (grpc: ${grpc.service} in justfn.yaml): its handler answers calls, not events; run it with \`justfn start\` and call it with a gRPC client`,
    );
  }
  const registry = await createRegistry(service, resourceLog(log));
  const handler = await loadHandler(service.handler, { taskRoot: service.taskRoot })
    .then(async (loaded) => {
      await registry.open();
      return loaded;
    })
    .catch(async (error) => {
      await registry.close();
      return initFailed(log, error);
    });

  const timeout = service.options.timeout;
  const functionInfo = functionInfoOf(service.options);
  const info = {
    requestId: crypto.randomUUID(),
    deadlineMs: Date.now() + timeout * 1000,
    invokedFunctionArn: emulatorArn(functionInfo.functionName),
  };
  const context = new LambdaContext(info, functionInfo, registry.resources);
  // As Lambda mode runs it: the deadline fails it (a timer that holds nothing open), and an event loop that
  // runs dry first ends it as AWS's client does (`null`, or Runtime.NodeJsExit for an async handler).
  setTimeout(() => {
    crash('Invoke Error')(new JustfnError('TIMEOUT', `Task timed out after ${timeout.toFixed(2)} seconds`));
  }, timeout * 1000).unref();
  process.on('beforeExit', () => endDrained(handler, context));
  let streaming = false;
  const openStream = () => {
    streaming = true;
    return stdoutSink();
  };
  // A handler that calls process.exit ends the invocation as the runtime's exit ends it on Lambda.
  process.once('exit', (code) => {
    if (!invoking) return;
    const message = `RequestId: ${info.requestId} Error: Runtime exited with error: exit status ${code}`;
    const error = new JustfnError('EXIT', message);
    log.logError('Invoke Error', error);
    // As `justfn emulate` and Lambda answer it: the platform's error, no trace of the runtime's.
    // After a streamed body began, stdout is that body: the error goes where a stream's failure goes.
    const payload = JSON.stringify({ errorType: error.name, errorMessage: message });
    if (streaming) process.stderr.write(`\n${payload}\n`);
    else process.stdout.write(`${payload}\n`);
    process.exitCode = 1;
  });
  invoking = true;
  const outcome = await scope.run(info, () => invoke(handler, event, context, { openStream }));
  invoking = false;
  await registry.close();
  if (outcome.ok && outcome.streamed) process.exit(0);
  let body: string | undefined;
  let failure = outcome.ok ? undefined : outcome.thrown;
  try {
    if (outcome.ok) body = stringifyResult(outcome.value);
  } catch (error) {
    failure = error;
  }
  if (body !== undefined) {
    process.stdout.write(`${body}\n`);
    process.exit(0);
  }
  log.logError('Invoke Error', failure);
  if (!outcome.streamed) process.stdout.write(`${JSON.stringify(toErrorPayload(failure))}\n`);
  process.exit(1);
}

function initFailed(log: LambdaLog, error: unknown): never {
  log.logError('Init Error', error);
  process.stdout.write(`${JSON.stringify(toErrorPayload(error))}\n`);
  process.exit(1);
}

function readEvent(file: string | undefined): unknown {
  if (file === undefined) return {};
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (error) {
    // Exit 2, a usage error: 1 means the function failed.
    fail(
      `--event ${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
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
