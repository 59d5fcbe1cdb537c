import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Script } from 'node:vm';

const loaded = new Map<string, { exports: unknown; script: Script }>();

/**
 * Loads one of justfn's own CommonJS bundles (`dist/lambda.cjs`, `dist/http.cjs`, and the split bundles the
 * mode bundles reach through `import()`: `dist/config.cjs`, `dist/resource-postgres.cjs`, …) through V8's
 * code cache (`dist/<name>.cjs.cache`, written at build time), so start-up skips compiling what it already
 * compiled once; once per process, as `require` would. A cache V8 refuses (another Node version, other V8
 * flags) or a missing one only costs the compile it would have cost anyway.
 * Node 22's `module.enableCompileCache()` does the same for files on disk; this works on Node 20 too.
 */
export function loadBundle<T>(file: string): T {
  let bundle = loaded.get(file);
  if (!bundle) {
    bundle = compileBundle<T>(file);
    loaded.set(file, bundle);
  }
  return bundle.exports as T;
}

function compileBundle<T>(file: string, scriptName = file): { exports: T; script: Script } {
  const source = readFileSync(file, 'utf8');
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(`${file}.cache`);
  } catch {}
  const wrapper = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  const script = new Script(wrapper, { filename: scriptName, ...(cachedData ? { cachedData } : {}) });
  const factory = script.runInThisContext() as (...args: unknown[]) => void;
  const module = { exports: {} as T };
  factory.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
  return { exports: module.exports, script };
}

/**
 * Build step (`scripts/build.mjs`): compiles a bundle, runs `warm` on its exports — a few invocations
 * through the real code paths, or a start through `start()`, whose `loadBundle(file)` returns this same
 * compile — and stores V8's code cache. The cache then holds the functions the first
 * invocation needs, compiled, not only the bundle's top level. Node 20's V8 keeps the file name a cache
 * was written under, whatever name later loads it: stack traces name `loadedFrom`, the path the bundle
 * will run from (the layer's caches are written in a staging directory for `/opt/justfn/dist`).
 */
export async function writeCodeCache<T>(
  file: string,
  warm?: (exports: T) => Promise<void>,
  loadedFrom = file,
): Promise<void> {
  const { exports, script } = compileBundle<T>(file, loadedFrom);
  // A warm-up may start a mode the way `bootstrap` does (main's `start()`): it then loads this very script.
  loaded.set(file, { exports, script });
  if (warm) await warm(exports);
  writeFileSync(`${file}.cache`, script.createCachedData());
}

/**
 * The split bundles worth a code cache: what a function with a `justfn.yaml` loads before its first
 * invocation (the YAML parser and schema, the registry, each resource kind's client). gRPC mode's
 * `grpc.cjs` is a split too, but its cache is written by a warm-up of its own (`scripts/warm.cjs grpc`).
 */
export const CACHED_SPLITS = [
  'config.cjs',
  'resources.cjs',
  'resource-postgres.cjs',
  'resource-grpc.cjs',
  'resource-http.cjs',
];

/**
 * Build step: writes the code caches of the split bundles in `dist`, to be loaded from `loadedFrom` (see
 * {@link writeCodeCache}). Each holds what loading the bundle compiles and what a start with resources
 * runs: the config's, reading a `justfn.yaml` with one resource of each kind; the registry's and the
 * `grpc` and `http` kinds', opening, warming and closing a resource of each against throwaway loopback
 * servers (an HTTP/2 server the channel connects to, an HTTP server for the warm-up GET), as init does.
 * Measured, interleaved: init with a `grpc` resource 9 % shorter, with all three kinds 6-13 %. The
 * `postgres` kind's cache holds its load only: opening it needs a PostgreSQL server, and its opening
 * compiled in the cache made no measurable difference.
 */
export async function writeSplitCodeCaches(dist: string, loadedFrom = dist): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'justfn-warm-'));
  const servers = await startWarmServers();
  try {
    writeFileSync(
      path.join(dir, 'warm.proto'),
      'syntax = "proto3";\npackage warm;\nservice Warm { rpc Say (Text) returns (Text); }\nmessage Text { string text = 1; }\n',
    );
    writeFileSync(
      path.join(dir, 'justfn.yaml'),
      [
        'name: warm',
        'resources:',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a justfn.yaml variable, as users write them
        '  db: { kind: postgres, url: "postgres://warm:${WARM_PASSWORD}@127.0.0.1:5432/warm" }',
        `  api: { kind: grpc, target: "${servers.grpcTarget}", proto: warm.proto, service: warm.Warm }`,
        `  web: { kind: http, origin: "${servers.httpOrigin}" }`,
        '',
      ].join('\n'),
    );
    const splits: Record<string, unknown> = {};
    // Each split is compiled (and registered where the others' `import()` finds it) before the warm-up,
    // and its cache written after it.
    const compileFrom = async (index: number): Promise<void> => {
      const name = CACHED_SPLITS[index];
      if (name === undefined) return openResources(splits, path.join(dir, 'justfn.yaml'));
      await writeCodeCache(
        path.join(dist, name),
        async (bundle: unknown) => {
          splits[name] = bundle;
          await compileFrom(index + 1);
        },
        path.join(loadedFrom, name),
      );
    };
    await compileFrom(0);
  } finally {
    servers.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What a start with resources runs: `justfn.yaml` read, then the reachable ones opened and closed. Best
 * effort: an opening that fails (a build whose loopback is odd) costs the caches what it did not run, not
 * the build. The servers are on loopback, which a proxy in the build's environment (`http_proxy`,
 * `grpc_proxy`, which grpc-js honours) must not be asked for.
 */
async function openResources(splits: Record<string, unknown>, file: string): Promise<void> {
  const { loadServiceConfig } = splits['config.cjs'] as typeof import('../runtime/config/load.js');
  const { createResourceRegistry, loadKinds } = splits[
    'resources.cjs'
  ] as typeof import('../runtime/resources/registry.js');
  const { config, baseDir, secrets } = loadServiceConfig(file, { WARM_PASSWORD: 'warm' });
  const { db: _unreachable, ...reachable } = config.resources ?? {};
  await loadKinds(['postgres', 'grpc', 'http']);
  const quiet = { info() {}, warn() {}, error() {} };
  const registry = createResourceRegistry(reachable, { baseDir, secrets, log: quiet, openTimeoutMs: 2_000 });
  const noProxy = process.env.no_proxy;
  process.env.no_proxy = ['127.0.0.1', noProxy].filter(Boolean).join(',');
  try {
    await registry.open();
  } catch (error) {
    process.stderr.write(
      `justfn build: opening resources for the code caches failed, which then hold their load only: ${(error as Error).message}\n`,
    );
  } finally {
    if (noProxy === undefined) delete process.env.no_proxy;
    else process.env.no_proxy = noProxy;
    await registry.close();
  }
}

/** An HTTP/2 server (a gRPC channel's peer; it turns READY on the connection) and an HTTP one, on loopback. */
async function startWarmServers(): Promise<{ grpcTarget: string; httpOrigin: string; close(): void }> {
  // Loaded here only: main.cjs runs at every start, and none of this belongs to one.
  const [http, http2] = await Promise.all([import('node:http'), import('node:http2')]);
  const web = http.createServer((_request, response) => response.end('warm'));
  const api = http2.createServer();
  const listen = (server: import('node:net').Server) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as import('node:net').AddressInfo).port));
    });
  const [grpcPort, httpPort] = await Promise.all([listen(api), listen(web)]);
  return {
    grpcTarget: `127.0.0.1:${grpcPort}`,
    httpOrigin: `http://127.0.0.1:${httpPort}`,
    close() {
      web.closeAllConnections();
      web.close();
      api.close();
    },
  };
}
