import path from 'node:path';
import { parseArgs } from 'node:util';
import { startEmulator } from '../../adapters/emulator/emulator.js';
import { ConfigError } from '../../runtime/config/config-error.js';
import { integer } from '../options.js';
import type { Service } from '../service.js';
import { fail, loadTarget, resolveTarget } from './target.js';

/**
 * `justfn emulate [dir or handler] [--port 8080] [--host 127.0.0.1] [--timeout S]`: a local Lambda with
 * the RIE's defaults; `justfn.yaml`'s handler, timeout, memory and name apply when the environment does
 * not say otherwise.
 */
export async function emulateCommand(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      timeout: { type: 'string' },
    },
  });
  // A flag that does not parse throws an OptionError, which the command line turns into one line, exit 2.
  const port = integer(0, 65_535)(values.port, '--port');
  const timeoutFlag =
    values.timeout === undefined ? undefined : integer(1, 86_400)(values.timeout, '--timeout');
  const service = await loadTarget(positionals, process.env, true).catch((error: unknown) =>
    withoutConfig(positionals, error),
  );
  const emulator = await startEmulator({
    ...emulatedFunction(service, process.env),
    ...(timeoutFlag === undefined ? {} : { timeout: timeoutFlag }),
    command: [process.execPath, path.join(__dirname, 'main.cjs')],
    env: process.env,
    port,
    host: values.host,
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
    `justfn emulate: ${service.handler} in ${service.taskRoot}, a local Lambda on ${emulator.invokeUrl}\n` +
      `  curl -XPOST "${emulator.invokeUrl}" -d '{"hello":"world"}'\n`,
  );
  const stop = () => void emulator.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/**
 * A `justfn.yaml` that does not load is the function's init error, as on Lambda (`/init/error` with
 * `Runtime.InvalidConfig`, which the invoke endpoint answers): the emulator serves without its settings
 * and says so. Anything else is the command line's mistake.
 */
function withoutConfig(args: readonly string[], error: unknown): Service {
  if (!(error instanceof ConfigError)) fail((error as Error).message);
  for (const problem of error.problems) process.stderr.write(`justfn emulate: ${problem}\n`);
  process.stderr.write(
    'justfn emulate: serving anyway: each invocation answers this init error, as Lambda would\n',
  );
  const { taskRoot, handlerArg, options } = resolveTarget(args, process.env, true);
  return { options, taskRoot, handler: handlerArg ?? options.handler ?? 'index.handler' };
}

/**
 * The function a local Lambda runs, as Lambda would: the handler, and the timeout, memory and name the
 * environment gives, or `justfn.yaml`, or AWS's emulator's defaults (300 s, 3008 MB, `test_function`).
 *
 * @example
 * startEmulator({ ...emulatedFunction(service, process.env), command, env: process.env });
 */
export function emulatedFunction(service: Service, env: NodeJS.ProcessEnv) {
  const { options } = service;
  // As every variable: empty is unset, and one that does not parse stops the start (an OptionError).
  const timeoutVar = env.AWS_LAMBDA_FUNCTION_TIMEOUT?.trim() || undefined;
  return {
    handler: service.handler,
    taskRoot: service.taskRoot,
    timeout:
      timeoutVar === undefined
        ? (service.config?.config.timeout ?? 300)
        : integer(1, 86_400)(timeoutVar, 'AWS_LAMBDA_FUNCTION_TIMEOUT'),
    ...(options.functionName ? { functionName: options.functionName } : {}),
    ...(options.memorySize ? { memorySize: Number(options.memorySize) } : {}),
    // Managed Instances: the emulator hands out this many at once, as the runtime runs this many loops.
    ...(options.maxConcurrency ? { maxConcurrency: options.maxConcurrency } : {}),
  };
}
