import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Script } from 'node:vm';

/**
 * Loads one of justfn's own CommonJS bundles (`dist/lambda.cjs`, `dist/http.cjs`) through V8's code cache
 * (`dist/<name>.cjs.cache`, written at build time), so start-up skips compiling what it already compiled
 * once. A cache V8 refuses (another Node version) only costs the compile it would have cost anyway.
 * Node 22's `module.enableCompileCache()` does the same for files on disk; this works on Node 20 too.
 */
export function loadBundle<T>(file: string): T {
  return compileBundle<T>(file).exports;
}

function compileBundle<T>(file: string): { exports: T; script: Script } {
  const source = readFileSync(file, 'utf8');
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(`${file}.cache`);
  } catch {}
  const wrapper = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  const script = new Script(wrapper, { filename: file, ...(cachedData ? { cachedData } : {}) });
  const factory = script.runInThisContext() as (...args: unknown[]) => void;
  const module = { exports: {} as T };
  factory.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
  return { exports: module.exports, script };
}

/**
 * Build step (`scripts/build.mjs`): compiles a bundle, runs `warm` on its exports — a few invocations
 * through the real code paths — and stores V8's code cache. The cache then holds the functions the first
 * invocation needs, compiled, not only the bundle's top level.
 */
export async function writeCodeCache<T>(file: string, warm?: (exports: T) => Promise<void>): Promise<void> {
  const { exports, script } = compileBundle<T>(file);
  if (warm) await warm(exports);
  writeFileSync(`${file}.cache`, script.createCachedData());
}
