// Builds dist/: one CommonJS bundle per entry point, so a mode loads only its own code, then V8 code caches
// for the bundles that start processes. Run by `npm ci` (prepare), by the test setup and by the Dockerfile.
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
// Built aside and swapped in at the end, so a process started from dist/ never sees half a build.
const out = path.join(root, `.dist-${process.pid}`);
// `--bundles-only` (the test setup) skips the type declarations, which only the published package needs.
const withTypes = !process.argv.includes('--bundles-only');

// Node built-ins that some dependency requires at load time but a mode may never use: they load on first
// use instead (each costs milliseconds of start-up).
const LAZY_BUILTINS =
  /^(node:)?(http2|https|tls|crypto|zlib|worker_threads|perf_hooks|sqlite|querystring|dns|v8)$/;

const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(build) {
    build.onResolve({ filter: LAZY_BUILTINS }, (args) =>
      args.namespace === 'lazy'
        ? { path: args.path, external: true }
        : { path: args.path.replace(/^node:/, ''), namespace: 'lazy' },
    );
    build.onLoad({ filter: /.*/, namespace: 'lazy' }, (args) => ({
      loader: 'js',
      contents: `let m; const load = () => (m ??= require('node:${args.path}'));
module.exports = new Proxy({}, {
  get: (_, key) => load()[key],
  has: (_, key) => key in load(),
  ownKeys: () => Reflect.ownKeys(load()),
  getOwnPropertyDescriptor: (_, key) => {
    const d = Object.getOwnPropertyDescriptor(load(), key);
    if (d) d.configurable = true;
    return d;
  },
});`,
    }));
  },
};

// The Runtime API client speaks HTTP/1.1 only; undici's HTTP/2 client loads node:http2 at require time.
const noHttp2 = {
  name: 'no-undici-h2',
  setup(build) {
    build.onLoad({ filter: /undici[\\/]lib[\\/]dispatcher[\\/]client-h2\.js$/ }, () => ({
      loader: 'js',
      contents: `module.exports = function connectH2() { throw new Error('justfn bundles undici without HTTP/2'); };`,
    }));
  },
};

const bundles = [
  { entry: 'bootstrap/main.ts', out: 'main.cjs' },
  { entry: 'bootstrap/lambda.ts', out: 'lambda.cjs', cache: true },
  { entry: 'bootstrap/http.ts', out: 'http.cjs', cache: true },
  { entry: 'bootstrap/cli.ts', out: 'cli.cjs' },
];

// The `justfn` and `justfn/testing` imports: ES modules, dependencies left to the package manager.
const libraries = [
  { entry: 'runtime/index.ts', out: 'index.js' },
  { entry: 'bootstrap/testing.ts', out: 'testing.js' },
];

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await Promise.all([
  ...libraries.map(({ entry, out: file }) =>
    esbuild.build({
      absWorkingDir: root,
      entryPoints: [entry],
      outfile: path.join(out, file),
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'warning',
    }),
  ),
  ...bundles.map(({ entry, out: file }) =>
    esbuild.build({
      absWorkingDir: root,
      entryPoints: [entry],
      outfile: path.join(out, file),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      sourcemap: false,
      legalComments: 'none',
      logLevel: 'warning',
      plugins: [lazyBuiltins, noHttp2],
    }),
  ),
]);

if (withTypes) {
  execFileSync(
    process.execPath,
    [
      path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      'tsconfig.build.json',
      '--outDir',
      path.join(out, 'types'),
    ],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
}

// Compile each process bundle once and keep V8's code cache beside it. A clean environment: flags in
// NODE_OPTIONS would make V8 refuse the cache in processes started without them.
for (const { out: name } of bundles.filter((b) => b.cache)) {
  const file = path.join(out, name);
  execFileSync(
    process.execPath,
    ['-e', `require(${JSON.stringify(path.join(out, 'main.cjs'))}).writeCodeCache(${JSON.stringify(file)})`],
    { env: { PATH: process.env.PATH ?? '' }, stdio: 'inherit' },
  );
}

rmSync(dist, { recursive: true, force: true });
renameSync(out, dist);
