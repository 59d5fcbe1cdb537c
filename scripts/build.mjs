// Builds dist/: one CommonJS bundle per entry point, so a mode loads only its own code, then V8 code caches
// for the bundles that start processes. Run by `npm ci` (prepare), by the test setup and by the Dockerfile.
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const requireBuiltin = createRequire(import.meta.url);
/** What a built-in exports, by name; none for one this Node lacks (node:sqlite before Node 22.5). */
const builtinNames = (name) => {
  try {
    return Object.getOwnPropertyNames(requireBuiltin(`node:${name}`));
  } catch {
    return [];
  }
};
const dist = path.join(root, 'dist');
// Built aside and swapped in at the end, so a process started from dist/ never sees half a build.
const out = path.join(root, `.dist-${process.pid}`);
// `--bundles-only` (the test setup) skips the type declarations, which only the published package needs.
const withTypes = !process.argv.includes('--bundles-only');

// Node built-ins that some dependency requires at load time but a mode may never use: they load on first
// use instead (each costs milliseconds of start-up).
const LAZY_BUILTINS =
  /^(node:)?(http|http2|https|tls|crypto|zlib|worker_threads|perf_hooks|sqlite|querystring|dns|v8)$/;

const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(build) {
    build.onResolve({ filter: LAZY_BUILTINS }, (args) =>
      args.namespace === 'lazy'
        ? { path: args.path, external: true }
        : { path: args.path.replace(/^node:/, ''), namespace: 'lazy' },
    );
    // The names are known at build time, so listing them (as esbuild's interop does for `import { x }`)
    // does not load the module; reading one does.
    build.onLoad({ filter: /.*/, namespace: 'lazy' }, (args) => ({
      loader: 'js',
      contents: `let m; const load = () => (m ??= require('node:${args.path}'));
const names = ${JSON.stringify(builtinNames(args.path))};
module.exports = new Proxy({}, {
  get: (_, key) => load()[key],
  has: (_, key) => key in load(),
  ownKeys: () => names,
  getOwnPropertyDescriptor: (_, key) =>
    names.includes(key) ? { configurable: true, enumerable: true, get: () => load()[key] } : undefined,
});`,
    }));
  },
};

/**
 * An esbuild plugin that edits dependency files as they are bundled. Each patch set maps a path under
 * node_modules (`undici/lib/core/util.js`) to its `[from, to]` replacements; sets that touch the same file
 * are applied in order. Each replacement checks that the code it replaces is still there, so an upgrade
 * that moves it fails the build, not a process.
 */
const patchDependencies = (...sets) => {
  const patches = new Map();
  for (const set of sets) {
    for (const [file, pairs] of Object.entries(set))
      patches.set(file, [...(patches.get(file) ?? []), ...pairs]);
  }
  return {
    name: 'patch-dependencies',
    setup(build) {
      build.onLoad({ filter: /\.js$/ }, async (args) => {
        const where = args.path.replaceAll('\\', '/');
        const file = [...patches.keys()].find((suffix) => where.endsWith(`node_modules/${suffix}`));
        if (!file) return undefined;
        const { readFile } = await import('node:fs/promises');
        let contents = await readFile(args.path, 'utf8');
        for (const [from, to] of patches.get(file)) {
          if (!contents.includes(from))
            throw new Error(`${file} changed: cannot patch (${from.slice(0, 60)}...)`);
          contents = contents.replace(from, to);
        }
        return { contents, loader: 'js' };
      });
    },
  };
};

// undici's Client reads two things from node:http at require time — the default header size limit and
// the IncomingMessage class (only to tell one apart when destroying a stream) — which would load Node's
// whole HTTP stack into Lambda mode, which never uses it. Both become lazy.
const undiciWithoutNodeHttp = {
  'undici/lib/core/util.js': [
    [
      "const { IncomingMessage } = require('node:http')",
      "const isIncomingMessage = (stream) => Object.getPrototypeOf(stream).constructor === require('node:http').IncomingMessage",
    ],
    [
      'if (Object.getPrototypeOf(stream).constructor === IncomingMessage) {',
      'if (isIncomingMessage(stream)) {',
    ],
  ],
  'undici/lib/dispatcher/client.js': [
    [
      "const getDefaultNodeMaxHeaderSize = http &&\n  http.maxHeaderSize &&\n  Number.isInteger(http.maxHeaderSize) &&\n  http.maxHeaderSize > 0\n  ? () => http.maxHeaderSize\n  : () => { throw new InvalidArgumentError('http module not available or http.maxHeaderSize invalid') }",
      'const getDefaultNodeMaxHeaderSize = () => http.maxHeaderSize',
    ],
  ],
};

// undici writes a request with a Buffer body as two writes under cork(), which Node turns into one writev
// (an array of chunks, a write request per chunk, more JavaScript than a plain write): a body up to 64 KiB
// is copied behind the head instead and written once. Every Runtime API response and error is one.
const undiciOneWrite = {
  'undici/lib/dispatcher/client-h1.js': [
    [
      [
        '      socket.cork()',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: undici's source, matched as text
        "      socket.write(`${header}content-length: ${contentLength}\\r\\n\\r\\n`, 'latin1')",
        '      socket.write(body)',
        '      socket.uncork()',
      ].join('\n'),
      [
        // biome-ignore lint/suspicious/noTemplateCurlyInString: undici's source, matched as text
        '      const head = `${header}content-length: ${contentLength}\\r\\n\\r\\n`',
        '      if (contentLength <= 65536) {',
        '        const out = Buffer.allocUnsafe(head.length + contentLength)',
        '        out.latin1Write(head, 0)',
        // A Uint8Array body reaches here as it is (undici's isBuffer), so no Buffer-only copy().
        '        out.set(body, head.length)',
        '        socket.write(out)',
        '      } else {',
        '        socket.cork()',
        "        socket.write(head, 'latin1')",
        '        socket.write(body)',
        '        socket.uncork()',
        '      }',
      ].join('\n'),
    ],
  ],
};

// pg as it runs under justfn, on Node. Two patches:
const pgOnNode = {
  // pg asks at load time whether it runs on Cloudflare Workers; where there is no `navigator` (Node 20) it
  // builds a `Response` to find out, and that global loads Node's own copy of undici: 25 ms of every init
  // with a `postgres` resource.
  'pg/lib/stream.js': [['if (isCloudflareRuntime()) {', 'if (false) {']],
  // SCRAM-SHA-256 through node:crypto's hash, HMAC and PBKDF2 (on libuv's pool, as Web Crypto's is), not
  // Web Crypto's SubtleCrypto, whose modules (webcrypto, webidl, the key classes) cost ~3.5 ms to load and
  // whose calls, each a promise around a job, ~2 ms more of the first connection. Same algorithms, same
  // bytes: the tests authenticate against a real PostgreSQL with SCRAM.
  'pg/lib/crypto/utils.js': [
    ['const webCrypto = nodeCrypto.webcrypto || globalThis.crypto', ''],
    ['const subtleCrypto = webCrypto.subtle', ''],
    ['return webCrypto.getRandomValues(Buffer.alloc(length))', 'return nodeCrypto.randomBytes(length)'],
    ["await subtleCrypto.digest('MD5', data)", "await nodeCrypto.webcrypto.subtle.digest('MD5', data)"],
    [
      "return await subtleCrypto.digest('SHA-256', text)",
      "return nodeCrypto.createHash('sha256').update(Buffer.from(text)).digest()",
    ],
    [
      'return await subtleCrypto.digest(hashName, text)',
      "return nodeCrypto.createHash(hashName.replace('-', '').toLowerCase()).update(Buffer.from(text)).digest()",
    ],
    [
      "  const key = await subtleCrypto.importKey('raw', keyBuffer, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])\n  return await subtleCrypto.sign('HMAC', key, textEncoder.encode(msg))",
      "  return nodeCrypto.createHmac('sha256', Buffer.from(keyBuffer)).update(msg).digest()",
    ],
    [
      "  const key = await subtleCrypto.importKey('raw', textEncoder.encode(password), 'PBKDF2', false, ['deriveBits'])\n  const params = { name: 'PBKDF2', hash: 'SHA-256', salt: salt, iterations: iterations }\n  return await subtleCrypto.deriveBits(params, key, 32 * 8, ['deriveBits'])",
      "  return new Promise((resolve, reject) =>\n    nodeCrypto.pbkdf2(password, salt, iterations, 32, 'sha256', (error, key) => (error ? reject(error) : resolve(key))),\n  )",
    ],
  ],
};

// @grpc/proto-loader describes every message twice for reflection, which grpc-js never reads: as
// FileDescriptorProto bytes (encoders that protobufjs generates at run time) and as descriptor objects, for
// which it loads protobufjs's descriptor extension (descriptor.proto parsed at require time). Both become
// lazy, computed if something reads them: about 10 ms of every start that loads a .proto.
const protoLoaderLazyReflection = {
  '@grpc/proto-loader/build/src/index.js': [
    [
      'const descriptor = require("protobufjs/ext/descriptor");',
      'let descriptorExtension;\nconst descriptor = () => (descriptorExtension ??= require("protobufjs/ext/descriptor"));',
    ],
    ['descriptor.FileDescriptorSet.decode(', 'descriptor().FileDescriptorSet.decode('],
    ['descriptor.FileDescriptorSet.fromObject(', 'descriptor().FileDescriptorSet.fromObject('],
    [
      "    const descriptorList = root.toDescriptor('proto3').file;\n    const bufferList = descriptorList.map(value => Buffer.from(descriptor.FileDescriptorProto.encode(value).finish()));",
      "    let bufferList;\n    const fileDescriptors = () => (bufferList ??= descriptor() && root.toDescriptor('proto3').file.map(value => Buffer.from(descriptor().FileDescriptorProto.encode(value).finish())));",
    ],
    [
      'def[name] = createDefinition(obj, name, options, bufferList);',
      'def[name] = createDefinition(obj, name, options, fileDescriptors);',
    ],
    [
      "    const messageDescriptor = message.toDescriptor('proto3');\n    return {\n        format: 'Protocol Buffer 3 DescriptorProto',\n        type: messageDescriptor.$type.toObject(messageDescriptor, descriptorOptions),\n        fileDescriptorProtos: fileDescriptors,",
      "    return {\n        format: 'Protocol Buffer 3 DescriptorProto',\n        get type() { descriptor(); const messageDescriptor = message.toDescriptor('proto3'); return messageDescriptor.$type.toObject(messageDescriptor, descriptorOptions); },\n        get fileDescriptorProtos() { return fileDescriptors(); },",
    ],
    [
      "    const enumDescriptor = enumType.toDescriptor('proto3');\n    return {\n        format: 'Protocol Buffer 3 EnumDescriptorProto',\n        type: enumDescriptor.$type.toObject(enumDescriptor, descriptorOptions),\n        fileDescriptorProtos: fileDescriptors,",
      "    return {\n        format: 'Protocol Buffer 3 EnumDescriptorProto',\n        get type() { descriptor(); const enumDescriptor = enumType.toDescriptor('proto3'); return enumDescriptor.$type.toObject(enumDescriptor, descriptorOptions); },\n        get fileDescriptorProtos() { return fileDescriptors(); },",
    ],
  ],
};

// Three modules that HTTP mode's dependencies require at load time and read only on paths justfn does not
// take: perf_hooks (fastify's logger times requests, which justfn does not log), worker_threads (pino's
// transports, which justfn does not use) and semver (fastify checks the version a plugin declares; justfn
// registers none that does). Each is required where it is used instead: about 2 ms of HTTP mode's start.
const httpLazyRequires = {
  'fastify/lib/logger-factory.js': [
    ["const { performance } = require('node:perf_hooks')\n", ''],
    ['  return performance.now()', "  return require('node:perf_hooks').performance.now()"],
  ],
  'thread-stream/index.js': [
    ["const { Worker } = require('worker_threads')\n", ''],
    [
      'const worker = new Worker(toExecute, {',
      "const worker = new (require('worker_threads').Worker)(toExecute, {",
    ],
  ],
  'pino/lib/tools.js': [
    ["const { isMainThread } = require('worker_threads')\n", ''],
    ['if (!opts.sync && isMainThread) {', "if (!opts.sync && require('worker_threads').isMainThread) {"],
  ],
  'fastify/lib/plugin-utils.js': [
    [
      "const semver = require('semver')\n",
      "const semver = {\n  gt: (...args) => require('semver').gt(...args),\n  coerce: (...args) => require('semver').coerce(...args),\n  satisfies: (...args) => require('semver').satisfies(...args)\n}\n",
    ],
  ],
};

// undici's fetch body machinery (FormData, Blob and stream bodies: 95 KB with what it pulls in) is
// required only for such bodies; the Runtime API client sends strings and Buffers. Left out of the Lambda
// bundle; should undici ever ask for it there, the stub says so.
const noFetchBody = {
  name: 'no-fetch-body',
  setup(build) {
    build.onLoad({ filter: /undici[\\/]lib[\\/]web[\\/]fetch[\\/]body\.js$/ }, () => ({
      loader: 'js',
      contents: `module.exports = { extractBody() { throw new Error('justfn bundles undici without fetch bodies'); } };`,
    }));
  },
};

// The mode bundles' own assert for their dependencies' internal invariant checks (undici in Lambda mode
// and in the `http` resource kind; find-my-way, fastify's plugin-utils, sonic-boom and thread-stream in
// HTTP mode: all only call `assert(value, message)`): node:assert loads four more internal modules, and
// Node's terminal colours, at start-up for a function that must never fire.
const minimalAssert = {
  name: 'minimal-assert',
  setup(build) {
    build.onResolve({ filter: /^(node:)?assert$/ }, () => ({ path: 'assert', namespace: 'minimal-assert' }));
    build.onLoad({ filter: /.*/, namespace: 'minimal-assert' }, () => ({
      loader: 'js',
      contents: `function assert(value, message) {
  if (!value) throw Object.assign(new Error(message ?? 'internal assertion failed'), { code: 'ERR_ASSERTION' });
}
module.exports = Object.assign(assert, { ok: assert });`,
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

// fastify's schema compilers (ajv, fast-json-stringify: 600 KB of the HTTP bundle) and its inject() client:
// HTTP mode declares no schema and gives fastify compilers of its own (adapters/http/server.ts), and
// never injects, so fastify never requires them. Should it ever, the stub says so at once.
const fastifyWithoutSchemas = {
  name: 'fastify-without-schemas',
  setup(build) {
    build.onResolve(
      { filter: /^(@fastify\/ajv-compiler|@fastify\/fast-json-stringify-compiler|light-my-request)$/ },
      (args) => ({
        path: args.path,
        namespace: 'absent',
      }),
    );
    build.onLoad({ filter: /.*/, namespace: 'absent' }, (args) => ({
      loader: 'js',
      contents: `module.exports = function absent() { throw new Error('justfn bundles fastify without ${args.path}'); };`,
    }));
  },
};

// undici embeds its HTTP parser as base64 in two modules (with and without SIMD): 146 KB of source that
// every Lambda-mode start reads, decodes and deserialises from the code cache. The bundles read the bytes
// from dist/ instead, where the build writes them (below), and only when undici asks.
const WASM_FILES = { 'llhttp_simd-wasm.js': 'llhttp.wasm', 'llhttp-wasm.js': 'llhttp-nosimd.wasm' };
const llhttpFromFile = {
  name: 'llhttp-from-file',
  setup(build) {
    build.onLoad({ filter: /undici[\\/]lib[\\/]llhttp[\\/]llhttp(_simd)?-wasm\.js$/ }, (args) => ({
      loader: 'js',
      contents: `let bytes;
Object.defineProperty(module, 'exports', {
  get: () => (bytes ??= require('node:fs').readFileSync(require('node:path').join(__dirname, ${JSON.stringify(WASM_FILES[path.basename(args.path)])}))),
});`,
    }));
  },
};

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

const bundles = [
  { entry: 'bootstrap/main.ts', out: 'main.cjs' },
  { entry: 'bootstrap/lambda.ts', out: 'lambda.cjs', cache: true },
  { entry: 'bootstrap/http.ts', out: 'http.cjs', cache: true },
  { entry: 'bootstrap/cli.ts', out: 'cli.cjs' },
  ...splits.map(({ module, out }) => ({ entry: module, out })),
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
      // ajv-formats-draft2019 (the manifests' validators) depends on the punycode package but requires it
      // as `punycode`, which is Node's deprecated built-in: on Node 22 every `justfn check` and
      // `justfn manifests` printed DEP0040 to stderr.
      alias: { punycode: 'punycode/punycode.js' },
      plugins: [
        splitPoints,
        schemaAsJson,
        llhttpFromFile,
        lazyBuiltins,
        noHttp2,
        patchDependencies(
          undiciWithoutNodeHttp,
          undiciOneWrite,
          pgOnNode,
          protoLoaderLazyReflection,
          ...(file === 'http.cjs' ? [httpLazyRequires] : []),
        ),
        ...(file === 'lambda.cjs' ? [minimalAssert, noFetchBody] : []),
        ...(file === 'resource-http.cjs' ? [minimalAssert] : []),
        ...(file === 'http.cjs' ? [fastifyWithoutSchemas, minimalAssert] : []),
      ],
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

// undici's HTTP parser as files of their own: the bundles read them (llhttpFromFile), and Lambda mode
// compiles the one it uses on a background thread while its init runs (bootstrap/main.ts).
for (const [module, file] of Object.entries(WASM_FILES)) {
  writeFileSync(path.join(out, file), requireBuiltin(`undici/lib/llhttp/${module}`));
}

rmSync(dist, { recursive: true, force: true });
renameSync(out, dist);

// Compile each process bundle once, warm it with a few invocations, and keep V8's code cache beside it; then
// the split bundles' caches. A clean environment: flags in NODE_OPTIONS would make V8 refuse the cache in
// processes started without them.
for (const mode of [...bundles.filter((b) => b.cache).map((b) => b.out.replace(/\.cjs$/, '')), 'splits']) {
  execFileSync(process.execPath, [path.join(root, 'scripts', 'warm.cjs'), dist, mode], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: 'inherit',
  });
}
