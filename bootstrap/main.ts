import path from 'node:path';
import { toRuntimeApiOrigin } from '../adapters/lambda/runtime-api-origin.js';
import { type HandlerArg, readHandlerArg } from './handler-arg.js';
import type { startHttp } from './http.js';
import type { startLambda } from './lambda.js';
import { loadBundle } from './load-bundle.js';
import { useLambdaNodePath } from './node-path.js';

export { loadBundle, writeCodeCache, writeSplitCodeCaches } from './load-bundle.js';
export { writeNodeFlags } from './node-flags.js';

import { OptionError, type Options, readOptions } from './options.js';
import { VERSION } from './version.js';

/**
 * What `bootstrap` runs (and `justfn start`): reads the environment once, picks the mode (Lambda when
 * `AWS_LAMBDA_RUNTIME_API` is set, HTTP otherwise) and hands over to that mode's bundle, which loads
 * nothing the other mode needs.
 */
export async function start(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let options: Options;
  try {
    options = readOptions(env);
  } catch (error) {
    if (!(error instanceof OptionError)) throw error;
    process.stderr.write(`justfn: ${error.message}\n`);
    await reportToLambda(env, error.message);
    process.exit(2);
  }
  // The telemetry fd belongs to the runtime, not to the function's children (as AWS's runtime does).
  delete env._LAMBDA_TELEMETRY_LOG_FD;
  // The argument is a handler string, or a directory whose index.handler (or _HANDLER) to serve.
  let target: HandlerArg;
  try {
    target = readHandlerArg(argv);
  } catch (error) {
    process.stderr.write(`justfn: start: ${(error as Error).message}\n`);
    await reportToLambda(env, (error as Error).message, 'Runtime.MalformedHandlerName');
    process.exit(2);
  }
  const taskRoot = path.resolve(target.dir ?? options.taskRoot ?? process.cwd());
  // A real `import()`: the mode bundles run from a code-cached script, which has no module loader of its own.
  const importModule = (specifier: string) => import(specifier);
  const mode = options.mode === 'auto' ? (options.runtimeApi ? 'lambda' : 'http') : options.mode;

  if (mode === 'lambda') {
    if (!options.runtimeApi) {
      process.stderr.write(
        'justfn: Lambda mode needs AWS_LAMBDA_RUNTIME_API (host:port of the Runtime API)\n',
      );
      process.exit(2);
    }
    // Lambda sets it on its managed Node runtimes (and `AWS_Lambda_Image` for images), not on `provided`,
    // where justfn's layer runs; libraries read it to know they run on Lambda (Powertools Tracer turns
    // itself off without it; the AWS SDK names it in its user agent). As the managed runtime of this Node.
    env.AWS_EXECUTION_ENV ||= `AWS_Lambda_nodejs${process.versions.node.split('.')[0]}.x`;
    useLambdaNodePath(env);
    endWithEmulator();
    const bundle = loadBundle<{ startLambda: typeof startLambda }>(path.join(__dirname, 'lambda.cjs'));
    await bundle.startLambda({ options, env, handlerArg: target.handler, taskRoot, importModule });
    return;
  }
  const bundle = loadBundle<{ startHttp: typeof startHttp }>(path.join(__dirname, 'http.cjs'));
  await bundle.startHttp({ options, env, handlerArg: target.handler, taskRoot, importModule });
}

if (require.main === module) void start(process.argv.slice(2));

/**
 * Started by `justfn emulate` (or `startLocalLambda`), which gives an IPC channel: when it goes, the
 * emulator's process died without ending this one (killed, or a test runner's worker torn down), and
 * nothing is left to answer to. End as the emulator's close() would have: SIGTERM, which runs the
 * shutdown hooks when the function has them and otherwise ends the process at once, then SIGKILL.
 * Unref'd, so that the channel does not keep the event loop from running dry (a handler that never
 * finishes, a stuck init).
 */
function endWithEmulator(): void {
  if (!process.channel) return;
  process.channel.unref();
  process.once('disconnect', () => {
    process.kill(process.pid, 'SIGTERM');
    // As close() gives a runtime that asked for SIGTERM, should something keep this one from exiting.
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), 500).unref();
  });
}

/**
 * On Lambda, a variable that does not parse (`Runtime.InvalidConfig`) or a command line that names no
 * handler (`Runtime.MalformedHandlerName`: an image's `CMD`) is an init error Lambda must hear of
 * (`/init/error`), or it reports only that the runtime exited. `fetch`: this path alone needs it.
 */
async function reportToLambda(
  env: NodeJS.ProcessEnv,
  message: string,
  errorType = 'Runtime.InvalidConfig',
): Promise<void> {
  const api = env.AWS_LAMBDA_RUNTIME_API;
  // Unless HTTP mode was asked for by name: with a Runtime API, a mode that does not parse is Lambda's too.
  if (!api || env.JUSTFN_MODE?.trim().toLowerCase() === 'http') return;
  await fetch(`${toRuntimeApiOrigin(api)}/2018-06-01/runtime/init/error`, {
    method: 'POST',
    // As every other post of the runtime's (adapters/lambda/runtime-api-client.ts).
    headers: {
      'content-type': 'application/json',
      'user-agent': `justfn/${VERSION}`,
      'lambda-runtime-function-error-type': errorType,
    },
    body: JSON.stringify({ errorType, errorMessage: message, trace: [] }),
    signal: AbortSignal.timeout(2_000),
  }).catch(() => {});
}
