// Builds dist/: one CommonJS bundle per entry point, so a mode loads only its own code, then V8 code caches
// for the bundles that start processes. Run by `npm ci` (prepare), by the test setup and by the Dockerfile.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import {
  fastifyCachedCatchAllParser,
  fastifyWithoutSchemas,
  httpLazyRequires,
  lazyBuiltins,
  llhttpFromFile,
  minimalAssert,
  noFetchBody,
  noHttp2,
  patchDependencies,
  pgOnNode,
  protoLoaderLazyReflection,
  undiciOneWrite,
  undiciSilentChannels,
  undiciWithoutNodeHttp,
  WASM_FILES,
} from './bundle-plugins.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const requireBuiltin = createRequire(import.meta.url);
const dist = path.join(root, 'dist');
// Built aside and swapped in at the end, so a process started from dist/ never sees half a build.
const out = path.join(root, `.dist-${process.pid}`);
// The type declarations, written beside the bundles by a process of their own (the build's slowest step);
// `--bundles-only` skips them, for a quick rebuild while working on the runtime.
const types = `${out}-types`;
const declarations = process.argv.includes('--bundles-only')
  ? undefined
  : spawn(process.execPath, [path.join(root, 'scripts', 'declarations.mjs'), types], { stdio: 'inherit' });

// Modules that a process may never need, each its own bundle, reached only through dynamic import():
// the YAML parser and schema (only with a justfn.yaml), the resource registry and each resource kind
// (only when declared), prom-client (after the HTTP server listens), gRPC mode (only with a `grpc:`
// block). Each such import() becomes a lazy require, so a process pays for them only when it uses them.
// Not a real import(): the mode bundles run from a code-cached vm.Script, which has no module loader (V8
// drops the script's import callback when it uses cached data), so an import() there fails with
// ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING.
const splits = [
  { module: 'runtime/config/load.ts', out: 'config.cjs' },
  { module: 'runtime/resources/registry.ts', out: 'resources.cjs' },
  { module: 'runtime/resources/postgres.ts', out: 'resource-postgres.cjs' },
  { module: 'runtime/resources/grpc.ts', out: 'resource-grpc.cjs' },
  { module: 'runtime/resources/http.ts', out: 'resource-http.cjs' },
  { module: 'runtime/metrics.ts', out: 'metrics.cjs' },
  { module: 'bootstrap/grpc.ts', out: 'grpc.cjs' },
];

const splitPoints = {
  name: 'split-points',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.namespace === 'split') return { path: args.path, external: true };
      if (args.kind !== 'dynamic-import') return undefined;
      const target = path.resolve(args.resolveDir, args.path).replace(/\.js$/, '.ts');
      const split = splits.find((s) => path.join(root, s.module) === target);
      return split ? { path: `./${split.out}`, namespace: 'split' } : undefined;
    });
    // A module of one line, bundled: esbuild runs it (and so the load) when the import() runs. The split
    // bundle loads as the mode bundles do, through main.cjs's loadBundle and its code cache, if any.
    build.onLoad({ filter: /.*/, namespace: 'split' }, (args) => ({
      loader: 'js',
      contents: `module.exports = require('./main.cjs').loadBundle(require('node:path').join(__dirname, ${JSON.stringify(path.basename(args.path))}));`,
    }));
  },
};

// The justfn.yaml schema as the plain JSON Schema it is, computed here: the processes read it to check a
// justfn.yaml (runtime/config/normalise.ts) and need none of TypeBox, which builds it (two thirds of the
// config bundle). The published library keeps TypeBox's schema object.
const serviceSchemaJson = await (async () => {
  const { outputFiles } = await esbuild.build({
    absWorkingDir: root,
    entryPoints: ['runtime/config/schema.ts'],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'cjs',
    logLevel: 'warning',
  });
  const module = { exports: {} };
  new Function('module', 'exports', 'require', outputFiles[0].text)(module, module.exports, requireBuiltin);
  return JSON.stringify(module.exports.serviceSchema);
})();
const schemaAsJson = {
  name: 'schema-as-json',
  setup(build) {
    build.onLoad({ filter: /runtime[\\/]config[\\/]schema\.ts$/ }, () => ({
      loader: 'js',
      contents: `export const serviceSchema = ${serviceSchemaJson};`,
    }));
  },
};

// bootstrap/version.ts reads justfn's version from package.json: the bundles get that field alone, not the
// whole file (4 KB more for main.cjs to compile at every start, which no code cache holds).
const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const versionOnly = {
  name: 'version-only',
  setup(build) {
    const manifest = path.join(root, 'package.json');
    build.onLoad({ filter: /[\\/]package\.json$/ }, (args) =>
      args.path === manifest ? { loader: 'json', contents: JSON.stringify({ version }) } : undefined,
    );
  },
};

const bundles = [
  { entry: 'bootstrap/main.ts', out: 'main.cjs' },
  { entry: 'bootstrap/lambda.ts', out: 'lambda.cjs', cache: true },
  { entry: 'bootstrap/http.ts', out: 'http.cjs', cache: true },
  { entry: 'bootstrap/cli.ts', out: 'cli.cjs' },
  ...splits.map(({ module, out }) => ({ entry: module, out })),
];

// The same split points in the ES-module libraries: the import() stays, of the split's bundle, whose
// dependencies are bundled in it (the package's runtime libraries are not its dependencies).
const librarySplitPoints = {
  name: 'library-split-points',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined;
      const target = path.resolve(args.resolveDir, args.path).replace(/\.js$/, '.ts');
      const split = splits.find((s) => path.join(root, s.module) === target);
      return split ? { path: `./${split.out}`, external: true } : undefined;
    });
  },
};

// The `justfn` and `justfn/testing` imports: ES modules, and CommonJS for `require` (Node before 20.19,
// Jest), dependencies left to the package manager. Both copies may load in one process: the classes and
// hooks they share are recognised across copies (runtime/shared-class.ts, runtime/hooks.ts).
const libraries = [
  { entry: 'runtime/index.ts', out: 'index.js', format: 'esm' },
  { entry: 'bootstrap/testing.ts', out: 'testing.js', format: 'esm' },
  { entry: 'runtime/index.ts', out: 'index.cjs', format: 'cjs' },
  { entry: 'bootstrap/testing.ts', out: 'testing.cjs', format: 'cjs' },
];

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await Promise.all([
  ...libraries.map(({ entry, out: file, format }) =>
    esbuild.build({
      absWorkingDir: root,
      entryPoints: [entry],
      outfile: path.join(out, file),
      bundle: true,
      packages: 'external',
      plugins: [librarySplitPoints],
      platform: 'node',
      format,
      // In CommonJS the split bundles are required: an import() there needs Jest's VM modules flag.
      ...(format === 'cjs' && {
        supported: { 'dynamic-import': false },
        logOverride: { 'empty-import-meta': 'silent' },
      }),
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
      // ajv-formats-draft2019 (the manifests' validators) depends on the punycode package but requires it
      // as `punycode`, which is Node's deprecated built-in: on Node 22 every `justfn check` and
      // `justfn manifests` printed DEP0040 to stderr.
      alias: { punycode: 'punycode/punycode.js' },
      // pg's errors reach the function, and logs name an error by its constructor: esbuild renamed
      // pg-protocol's DatabaseError to DatabaseError2 to keep it apart from pg's binding of the same name.
      keepNames: file === 'resource-postgres.cjs',
      plugins: [
        splitPoints,
        schemaAsJson,
        versionOnly,
        llhttpFromFile,
        lazyBuiltins,
        noHttp2,
        patchDependencies(
          undiciWithoutNodeHttp,
          undiciOneWrite,
          pgOnNode,
          protoLoaderLazyReflection,
          ...(file === 'http.cjs' ? [httpLazyRequires, fastifyCachedCatchAllParser] : []),
          ...(file === 'lambda.cjs' ? [undiciSilentChannels] : []),
        ),
        ...(file === 'lambda.cjs' ? [minimalAssert, noFetchBody] : []),
        ...(file === 'resource-http.cjs' ? [minimalAssert] : []),
        ...(file === 'http.cjs' ? [fastifyWithoutSchemas, minimalAssert] : []),
      ],
    }),
  ),
]);

// undici's HTTP parser as files of their own: the bundles read them (llhttpFromFile), and Lambda mode
// compiles the one it uses on a background thread while its init runs (bootstrap/memory.ts).
for (const [module, file] of Object.entries(WASM_FILES)) {
  writeFileSync(path.join(out, file), requireBuiltin(`undici/lib/llhttp/${module}`));
}

rmSync(dist, { recursive: true, force: true });
renameSync(out, dist);

// Compile each process bundle once, warm it with a few invocations, and keep V8's code cache beside it; then
// the split bundles' caches. A clean environment: flags in NODE_OPTIONS would make V8 refuse the cache in
// processes started without them.
for (const mode of [
  ...bundles.filter((b) => b.cache).map((b) => b.out.replace(/\.cjs$/, '')),
  'splits',
  'grpc',
]) {
  execFileSync(process.execPath, [path.join(root, 'scripts', 'warm.cjs'), dist, mode], {
    env: { PATH: process.env.PATH ?? '' },
    // Its stdout is the log of the HTTP mode it warms up.
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

if (declarations) {
  const [code] = declarations.exitCode === null ? await once(declarations, 'exit') : [declarations.exitCode];
  if (code !== 0) throw new Error(`scripts/declarations.mjs exited with ${code}`);
  renameSync(types, path.join(dist, 'types'));
}
