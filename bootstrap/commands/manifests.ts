import { existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { makeDirectory } from '../../adapters/make-directory.js';
import {
  generateManifests,
  ManifestError,
  type ManifestTarget,
  manifestTargets,
} from '../../adapters/manifests.js';
import { readServiceShape } from '../../adapters/service-shape.js';
import { optionTable } from '../options.js';
import { fail } from './target.js';

/** Where the base image puts the function (the Dockerfile's `WORKDIR` and `LAMBDA_TASK_ROOT`). */
const IMAGE_TASK_ROOT = '/var/task';

/**
 * `justfn manifests [dir|file] --target knative|kubernetes|lambda [-o DIR] [--image REF]`: the service's
 * description for one platform, from `justfn.yaml` alone — no variable or secret file is read — validated
 * before anything is written. Without `-o` the YAML goes to stdout (`| kubectl apply -f -`).
 */
export async function manifestsCommand(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      target: { type: 'string', short: 't' },
      output: { type: 'string', short: 'o' },
      image: { type: 'string' },
    },
  });
  const target = values.target as ManifestTarget | undefined;
  if (!target || !manifestTargets.includes(target)) {
    fail(`manifests: --target must be one of ${manifestTargets.join(', ')}`);
  }
  if (positionals.length > 1)
    fail(`manifests: unexpected argument '${positionals[1]}': name one directory or justfn.yaml`);
  const file = configFile(positionals[0] ?? '.');
  const outDir = values.output === undefined ? process.cwd() : path.resolve(values.output);
  let text: string;
  let name: string;
  let warnings: string[];
  try {
    const shape = readServiceShape(file, values.image === undefined ? {} : { image: values.image });
    ({ name, text, warnings } = generateManifests(target, shape, {
      runtime: { metricsPort: optionTable.metricsPort.default, taskRoot: IMAGE_TASK_ROOT },
      codeUri: path.relative(outDir, path.dirname(path.resolve(file))) || '.',
    }));
  } catch (error) {
    const problems = (error as { problems?: readonly string[] }).problems;
    if (!problems) throw error;
    const prefix = error instanceof ManifestError ? `justfn manifests --target ${target}: ` : '';
    for (const problem of problems) process.stderr.write(`${prefix}${problem}\n`);
    process.exit(1);
  }
  for (const warning of warnings) {
    process.stderr.write(`justfn manifests --target ${target}: warning: ${warning}\n`);
  }
  if (values.output === undefined) {
    process.stdout.write(text);
    return;
  }
  makeDirectory(outDir);
  writeFileSync(path.join(outDir, name), text);
  process.stderr.write(`justfn manifests: wrote ${path.join(values.output, name)}\n`);
}

/** A directory means its `justfn.yaml`; a path that is neither is a usage error (exit 2), as in `check`. */
function configFile(arg: string): string {
  if (!existsSync(arg))
    fail(`manifests: ${arg}: no such directory or file (name a directory or its justfn.yaml)`);
  if (statSync(arg).isDirectory()) return path.join(arg, 'justfn.yaml');
  return arg;
}
