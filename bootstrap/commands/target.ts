import path from 'node:path';
import { type HandlerArg, readHandlerArg } from '../handler-arg.js';
import { readOptions } from '../options.js';
import { resolveService, type Service } from '../service.js';

/** `[handler]` on the command line: a directory (its `index.handler` or `justfn.yaml`'s) or a handler string. */
export function resolveTarget(args: readonly string[], env: NodeJS.ProcessEnv, asLambda = false) {
  const options = readOptions(env, asLambda);
  let target: HandlerArg;
  try {
    target = readHandlerArg(args);
  } catch (error) {
    fail((error as Error).message);
  }
  if (target.dir !== undefined) return { taskRoot: path.resolve(target.dir), handlerArg: undefined, options };
  return { taskRoot: path.resolve(options.taskRoot ?? process.cwd()), handlerArg: target.handler, options };
}

/** The service a command works on: options, handler and `justfn.yaml`, exactly as `start` would see them. */
/** With `asLambda`, the options are read as Lambda mode reads them (`emulate`, `invoke`). */
export function loadTarget(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  asLambda = false,
): Promise<Service> {
  const { taskRoot, handlerArg, options } = resolveTarget(args, env, asLambda);
  return resolveService({ options, env, handlerArg, taskRoot, importModule: (s) => import(s) });
}

/** A message and exit code 2: the command line itself was wrong. */
export function fail(message: string): never {
  process.stderr.write(`justfn: ${message}\n`);
  process.exit(2);
}
