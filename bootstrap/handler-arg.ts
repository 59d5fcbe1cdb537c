import { statSync } from 'node:fs';
import path from 'node:path';
import { OptionError } from './options.js';

/** What `[handler]` names: a directory to serve, or a handler string (neither: the environment's). */
export interface HandlerArg {
  dir?: string;
  handler?: string;
}

/**
 * `[handler]` on the command line (the command's positional arguments): a directory (served as its
 * `justfn.yaml` or `index.handler` says), or a handler string. Throws an {@link OptionError} for what is
 * plainly neither — an option (`--bogus`), a path whose last part has no `.` and names no directory
 * (`examples/helo`), a second argument (`start examples/hello index.handler`) — instead of serving
 * something the user did not mean. A bare word without a dot stays a handler string: on Lambda it is
 * `Runtime.MalformedHandlerName`, as on AWS.
 *
 * @example
 * readHandlerArg(['examples/hello']); // { dir: 'examples/hello' }
 * readHandlerArg(['src/app.handler']); // { handler: 'src/app.handler' }
 */
export function readHandlerArg(args: readonly string[]): HandlerArg {
  const [arg, extra] = args;
  if (arg === undefined) return {};
  if (extra !== undefined)
    throw new OptionError(`unexpected argument '${extra}': name one handler or directory`);
  if (arg.startsWith('-')) throw new OptionError(`unknown option '${arg}'`);
  try {
    if (statSync(arg).isDirectory()) return { dir: arg };
  } catch {
    // Not a path that exists: a handler string, or a mistyped directory.
  }
  if (arg.includes('/') && !path.basename(arg).includes('.')) {
    throw new OptionError(
      `${arg}: no such directory, and not a handler string (file.export, e.g. index.handler)`,
    );
  }
  return { handler: arg };
}
