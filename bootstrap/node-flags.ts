import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { lambdaNodePath } from './node-path.js';

/** The file beside `bootstrap/bootstrap` that holds the options it starts Node with, and Lambda's NODE_PATH. */
const NODE_FLAGS_FILE = 'node-flags';

/**
 * Writes the Node options worth giving justfn on the Node running this, beyond that Node's defaults, to
 * `node-flags` in `bootstrapDir`. The image build and the layer build run it with the Node that will run
 * justfn; the bootstrap script reads the file with a shell builtin, since asking Node at start would cost
 * a second Node start. A checkout has no such file, and its bootstrap passes no options. Its second line
 * is NODE_PATH as Lambda's managed runtime of this Node sets it, for the same reason.
 *
 * - `--experimental-async-context-frame` (Node 22.7+; the default from Node 24): AsyncLocalStorage keeps
 *   its store in V8's continuation data instead of running async hooks for every promise and every native
 *   handle. The server modes and Managed Instances run each invocation in a store (the request id on its
 *   log lines): on Node 22, gRPC mode's CPU per call fell from 61 to 43 µs with it (interleaved A/B).
 *
 * @example
 * writeNodeFlags('/opt/justfn/bootstrap'); // ['--experimental-async-context-frame'] on Node 22
 */
export function writeNodeFlags(bootstrapDir: string): string[] {
  const flags = ['--experimental-async-context-frame'].filter((flag) =>
    process.allowedNodeEnvironmentFlags.has(flag),
  );
  // The second line: what the bootstrap puts in the environment Node starts with in Lambda mode, unless set.
  writeFileSync(path.join(bootstrapDir, NODE_FLAGS_FILE), `${flags.join(' ')}\n${lambdaNodePath()}\n`);
  return flags;
}
