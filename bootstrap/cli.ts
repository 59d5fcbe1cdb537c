import { checkCommand } from './commands/check.js';
import { emulateCommand } from './commands/emulate.js';
import { invokeCommand } from './commands/invoke.js';
import { layerCommand } from './commands/layer.js';
import { manifestsCommand } from './commands/manifests.js';
import { fail } from './commands/target.js';
import { start } from './main.js';
import { OptionError } from './options.js';
import { VERSION } from './version.js';

const USAGE = `justfn ${VERSION}: one Lambda handler on AWS Lambda, Knative and any container

Usage:
  justfn start [handler]                       what bootstrap runs: Lambda or HTTP mode, chosen by the environment
  justfn invoke [handler] [--event FILE|-]     one local invocation; prints the result, exits 1 on a function error
  justfn emulate [handler] [--port 8080] [--host H] [--timeout S]
                                               a local Lambda: Runtime API, invoke endpoint, the function as a child
  justfn check [dir] [--types FILE]            validates justfn.yaml and the handler; --types writes the Resources type
  justfn manifests [dir] --target knative|kubernetes|lambda [-o DIR] [--image REF]
                                               Knative, Kubernetes (+ Istio) or SAM (lambda) description from justfn.yaml
  justfn layer [--arch x86_64|arm64] [-o FILE] a Lambda layer (provided.al2023): bootstrap, justfn, Node 22
  justfn --version

[handler] is a handler string (src/app.handler) or a directory (with its justfn.yaml, or index.handler).
`;

/** The `justfn` command line. Every command but `start` lives here; `start` is `bootstrap/main.ts`. */
export async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  try {
    await run(command, rest);
  } catch (error) {
    // A mistyped option or a missing value: the command's name, node:util's precise message, the usage.
    const { code, message, syscall } = error as NodeJS.ErrnoException;
    if (code?.startsWith('ERR_PARSE_ARGS_')) fail(`${command}: ${message}\n\n${USAGE}`);
    // A variable that does not parse (PORT=abc): one line naming it, as `start` says it.
    if (error instanceof OptionError) fail(message);
    // What the machine refused (a file in the way of -o, no permission): its message, not a stack.
    if (syscall !== undefined) {
      process.stderr.write(`justfn: ${command}: ${message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

async function run(command: string | undefined, rest: string[]): Promise<void> {
  switch (command) {
    case 'start':
      return start(rest);
    case 'invoke':
      return invokeCommand(rest);
    case 'emulate':
      return emulateCommand(rest);
    case 'check':
      return checkCommand(rest);
    case 'manifests':
      return manifestsCommand(rest);
    case 'layer':
      return layerCommand(rest);
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
