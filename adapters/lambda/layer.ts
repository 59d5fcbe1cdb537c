import {
  chmodSync,
  copyFileSync,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ZipFile } from 'yazl';
import { makeDirectory } from '../make-directory.js';
import { writeForLayerNode } from './code-cache.js';
import type { LambdaArch, Progress } from './node-package.js';
import { type TarEntry, TarEntryStream } from './tar-entry.js';

/**
 * What a layer is made of: justfn's built runtime, its `bootstrap`, and the Node package's tarball
 * (`fetchNodePackage`). `runNode` says whether this machine can run that Node (Linux, same
 * architecture): then it writes the layer's code cache, otherwise the layer goes without one.
 *
 * @example
 * const options: LayerOptions = { arch: 'x86_64', distDir: 'dist', bootstrapFile: 'bootstrap/bootstrap', nodeTarball, out: 'layer.zip', runNode: true, tmpDir: os.tmpdir(), env: { PATH } };
 */
export interface LayerOptions {
  arch: LambdaArch;
  distDir: string;
  bootstrapFile: string;
  nodeTarball: string;
  out: string;
  runNode: boolean;
  /** Where the layer is staged before it is zipped. */
  tmpDir: string;
  /** The environment the layer's Node runs in to write the code cache (PATH only, ideally). */
  env: Record<string, string>;
  progress?: (progress: Progress) => void;
}

/** What `dist/` holds that no function runs: the CLI, the ES-module library builds, type declarations, code caches written by another Node. */
const notForFunctions = /^(cli\.cjs|index\.js|testing\.js|types|.*\.cache|.*\.map)$/;

/**
 * The files of justfn's `dist/` a function needs at run time: everything but the CLI (`cli.cjs`), the
 * ES-module library builds, the type declarations and code caches written by another Node — so a file the
 * runtime gains (a split bundle, `llhttp.wasm`) ships without a change here. The Dockerfile removes the same.
 *
 * @example
 * runtimeFiles('dist'); // ['config.cjs', 'grpc.cjs', 'http.cjs', 'lambda.cjs', 'llhttp.wasm', 'main.cjs', ...]
 */
export function runtimeFiles(distDir: string): string[] {
  return readdirSync(distDir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && !notForFunctions.test(entry.name))
    .map((entry) => entry.name)
    .sort();
}

// Zip entries carry a DOS date in local time; a fixed one built from local fields makes the same bytes on
// every machine and every day.
const FIXED_DATE = new Date(2000, 0, 1, 0, 0, 0);

/**
 * Builds a Lambda layer zip for `provided.al2023`, laid out as `bootstrap/bootstrap` expects it under
 * `/opt`: `bootstrap` (0755) at the root, `bin/node` (0755) and its licence, `justfn/dist/...` (0644),
 * with `lambda.cjs.cache` written by the layer's own Node when `runNode`. Entries in a fixed order with a
 * fixed date: the same inputs give the same zip. Written aside and renamed into place.
 *
 * @example
 * const { bytes } = await buildLayer({ ...options, out: 'justfn-layer-x86_64.zip' });
 */
export async function buildLayer(options: LayerOptions) {
  const progress = options.progress ?? (() => {});
  const stage = mkdtempSync(path.join(options.tmpDir, 'justfn-layer-'));
  try {
    const node = path.join(stage, 'bin', 'node');
    await extractNode(options.nodeTarball, stage, progress);
    const dist = path.join(stage, 'justfn', 'dist');
    mkdirSync(dist, { recursive: true });
    for (const name of runtimeFiles(options.distDir))
      copyFileSync(path.join(options.distDir, name), path.join(dist, name));
    let nodeVersion: string | undefined;
    if (options.runNode) {
      progress({ step: 'cache', message: 'writing the code caches and node-flags with the layer’s Node' });
      // Lambda mounts the layer at /opt: the caches name the bundles there, not in the staging directory.
      nodeVersion = await writeForLayerNode(node, dist, stage, options.env, '/opt/justfn/dist');
    }
    // Beside the bootstrap, which reads it (bootstrap/node-flags.ts).
    const flags = path.join(stage, 'node-flags');
    const entries = [
      { name: 'bootstrap', file: options.bootstrapFile, mode: 0o755 },
      ...(existsSync(flags) ? [{ name: 'node-flags', file: flags, mode: 0o644 }] : []),
      { name: 'bin/node', file: node, mode: 0o755 },
      ...readdirSync(path.join(stage, 'bin'))
        .filter((name) => name !== 'node')
        .map((name) => ({ name: `bin/${name}`, file: path.join(stage, 'bin', name), mode: 0o644 })),
      ...readdirSync(dist)
        .sort()
        .map((name) => ({ name: `justfn/dist/${name}`, file: path.join(dist, name), mode: 0o644 })),
    ];
    const bytes = await writeZip(entries, options.out, progress);
    progress({ step: 'done', message: options.out });
    return {
      file: options.out,
      bytes,
      entries: entries.map((e) => e.name),
      codeCache: options.runNode,
      nodeVersion,
    };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** `package/bin/node` out of the npm tarball to `<stage>/bin/node`, and Node's licence beside it. */
async function extractNode(tarball: string, stage: string, progress: (p: Progress) => void): Promise<void> {
  mkdirSync(path.join(stage, 'bin'), { recursive: true });
  const node = path.join(stage, 'bin', 'node');
  const entry = new TarEntryStream('package/bin/node');
  let total = 0;
  let done = 0;
  entry.on('entry', (found: TarEntry) => {
    total = found.size;
  });
  const count = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      done += chunk.length;
      progress({ step: 'pack', message: 'bin/node', done, total });
      callback(null, chunk);
    },
  });
  await pipeline(createReadStream(tarball), createGunzip(), entry, count, createWriteStream(node));
  chmodSync(node, 0o755);
  await pipeline(
    createReadStream(tarball),
    createGunzip(),
    new TarEntryStream('package/LICENSE'),
    createWriteStream(path.join(stage, 'bin', 'LICENSE')),
  ).catch(() => rmSync(path.join(stage, 'bin', 'LICENSE'), { force: true }));
}

async function writeZip(
  entries: { name: string; file: string; mode: number }[],
  out: string,
  progress: (p: Progress) => void,
): Promise<number> {
  const zip = new ZipFile();
  const total = entries.reduce((sum, e) => sum + statSync(e.file).size, 0);
  let done = 0;
  for (const entry of entries) {
    const count = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        done += chunk.length;
        progress({ step: 'pack', message: 'zip', done, total });
        callback(null, chunk);
      },
    });
    zip.addReadStream(createReadStream(entry.file).pipe(count), entry.name, {
      mode: entry.mode,
      mtime: FIXED_DATE,
      forceDosTimestamp: true,
      size: statSync(entry.file).size,
    });
  }
  zip.end();
  makeDirectory(path.dirname(path.resolve(out)));
  const partial = `${out}.partial`;
  await pipeline(zip.outputStream, createWriteStream(partial));
  renameSync(partial, out);
  return statSync(out).size;
}
