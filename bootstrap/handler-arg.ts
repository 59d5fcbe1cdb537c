import { statSync } from 'node:fs';
import path from 'node:path';
import { OptionError } from './options.js';

/** What `[handler]` names: a directory to serve, or a handler string (neither: the environment's). */
export interface HandlerArg {
  dir?: string;
  handler?: string;
}

/**
 * `[handler]` on the command line: a directory (served as its `justfn.yaml` or `index.handler` says), or a
 * handler string. Throws an {@link OptionError} for what is plainly neither — an option (`--bogus`), or a path whose
 * last part has no `.` and names no directory (`examples/helo`) — instead of "Bad handler" for it. A bare
 * word without a dot stays a handler string: on Lambda it is `Runtime.MalformedHandlerName`, as on AWS.
 *
 * @example
 * readHandlerArg('examples/hello'); // { dir: 'examples/hello' }
 * readHandlerArg('src/app.handler'); // { handler: 'src/app.handler' }
 */
export function readHandlerArg(arg: string | undefined): HandlerArg {
  if (arg === undefined) return {};
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
