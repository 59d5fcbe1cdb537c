// The esbuild plugins and dependency patches that scripts/build.mjs bundles with: what each leaves out or
// changes, and why (each is measured in docs/benchmarks.md or named in the bundle it applies to).
import { createRequire } from 'node:module';
import path from 'node:path';

const requireBuiltin = createRequire(import.meta.url);
/** What a built-in exports, by name; none for one this Node lacks (node:sqlite before Node 22.5). */
const builtinNames = (name) => {
  try {
    return Object.getOwnPropertyNames(requireBuiltin(`node:${name}`));
  } catch {
    return [];
  }
};

// Node built-ins that some dependency requires at load time but a mode may never use: they load on first
// use instead (each costs milliseconds of start-up).
const LAZY_BUILTINS =
  /^(node:)?(http|http2|https|tls|crypto|zlib|worker_threads|perf_hooks|sqlite|querystring|dns|v8)$/;

export const lazyBuiltins = {
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
export const patchDependencies = (...sets) => {
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
export const undiciWithoutNodeHttp = {
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
export const undiciOneWrite = {
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

// The Runtime API client's undici publishes on no diagnostics channel: Node's channels are global, so a
// tracer subscribed to `undici:request:*` (Powertools Tracer, OpenTelemetry's undici instrumentation)
// would record every GET /next and POST /response as one of the function's own outgoing calls, and file
// the /next that waits for the next event under the trace of the one before (aws-lambda-ric's native
// client shows them nothing). The `http` resource kind's undici keeps them: those calls are the function's.
export const undiciSilentChannels = {
  'undici/lib/core/diagnostics.js': [
    [
      "const diagnosticsChannel = require('node:diagnostics_channel')",
      [
        'const silentChannel = Object.freeze({ hasSubscribers: false, publish () {}, subscribe () {}, unsubscribe () {} })',
        'const diagnosticsChannel = { channel: () => silentChannel, subscribe () {}, unsubscribe () {} }',
      ].join('\n'),
    ],
  ],
};

// pg as it runs under justfn, on Node. Two patches:
export const pgOnNode = {
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
export const protoLoaderLazyReflection = {
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
export const httpLazyRequires = {
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

// HTTP mode gives every body to one catch-all parser (`*`). fastify caches the parser it finds for a
// content type, except that one: for every request with a body it parsed the Content-Type again (a
// ContentType object, its regular expressions, a Map of parameters) before falling back to it. The
// fallback is now cached like the others (fastify's cache holds 100 types, oldest out first): 6 % of the
// CPU of a binary-mode CloudEvent request, interleaved, six turns.
export const fastifyCachedCatchAllParser = {
  'fastify/lib/content-type-parser.js': [
    [
      "  return this.customParsers.get('')\n}",
      "  parser = this.customParsers.get('')\n  if (parser !== undefined) this.cache.set(ct, parser)\n  return parser\n}",
    ],
  ],
};

// undici's fetch body machinery (FormData, Blob and stream bodies: 95 KB with what it pulls in) is
// required only for such bodies; the Runtime API client sends strings and Buffers. Left out of the Lambda
// bundle; should undici ever ask for it there, the stub says so.
export const noFetchBody = {
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
export const minimalAssert = {
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
export const noHttp2 = {
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
export const fastifyWithoutSchemas = {
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
// from dist/ instead, where scripts/build.mjs writes them, and only when undici asks.
export const WASM_FILES = { 'llhttp_simd-wasm.js': 'llhttp.wasm', 'llhttp-wasm.js': 'llhttp-nosimd.wasm' };
export const llhttpFromFile = {
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
