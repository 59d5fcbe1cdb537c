import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { JustfnError } from './errors.js';

/** How the loop must call a handler; decided once, when it is loaded. */
export type HandlerKind = 'promise' | 'callback' | 'streaming';

export interface LoadedHandler {
  /** The user's function, exactly as exported. */
  fn: (...args: unknown[]) => unknown;
  kind: HandlerKind;
  /** The handler string it was loaded from (`src/app.handler`). */
  name: string;
  /** `streamifyResponse(fn, { highWaterMark })`. */
  highWaterMark?: number;
}

export interface LoadOptions {
  /** `LAMBDA_TASK_ROOT`: what the handler string is relative to. */
  taskRoot: string;
  /**
   * `import()` as seen from a real module. The runtime itself may run from a bundle compiled with a V8 code
   * cache, where a bare `import()` has no module loader behind it, so the caller passes its own.
   */
  importModule?: (specifier: string) => Promise<unknown>;
  /**
   * Fail an ES module import still pending after this many milliseconds (`justfn/testing`): a test
   * runner keeps the event loop busy, so the `beforeExit` that reports a stuck top-level await never comes.
   */
  importTimeoutMs?: number;
}

export const STREAMING_SYMBOL = Symbol.for('aws.lambda.runtime.handler.streaming');
export const HIGH_WATER_MARK_SYMBOL = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');

const defaultImport = (specifier: string) => import(specifier);

/**
 * Finds the export a handler string names, the way AWS's Node runtime does (`RICv3 src/UserFunction.js`): `..` is refused; the
 * basename is split at its first dot into module and export path; the module is tried as is, `.js`
 * (`import()` when the nearest package.json says `"type": "module"`), `.mjs`, `.cjs`, then through
 * `require.resolve` from the task root; load failures become the `Runtime.*` errors AWS raises.
 *
 * @example
 * const api = await resolveExport('src/users.api', { taskRoot: '/var/task' }); // any export: a function or an object
 */
export async function resolveExport(handlerString: string, options: LoadOptions): Promise<unknown> {
  if (handlerString.includes('..')) {
    throw new JustfnError(
      'MALFORMED_HANDLER_NAME',
      `'${handlerString}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const base = path.basename(handlerString);
  const moduleRoot = handlerString.slice(0, handlerString.lastIndexOf(base));
  const dot = base.indexOf('.');
  if (dot === -1) throw new JustfnError('MALFORMED_HANDLER_NAME', 'Bad handler');
  const moduleName = base.slice(0, dot);
  const exportPath = base.slice(dot + 1);

  const loaded = await loadModule(options.taskRoot, moduleRoot, moduleName, {
    importModule: options.importModule ?? defaultImport,
    importTimeoutMs: options.importTimeoutMs,
  });
  const fn = exportPath
    .split('.')
    .reduce<unknown>((value, key) => (value as Record<string, unknown>)?.[key], loaded);
  if (!fn) throw new JustfnError('HANDLER_NOT_FOUND', `${handlerString} is undefined or not exported`);
  return fn;
}

/**
 * Loads a handler function by AWS's rules (see {@link resolveExport}) and classifies it.
 *
 * @example
 * const handler = await loadHandler('src/users.api.handler', { taskRoot: '/var/task' });
 */
export async function loadHandler(handlerString: string, options: LoadOptions): Promise<LoadedHandler> {
  const fn = await resolveExport(handlerString, options);
  if (typeof fn !== 'function') {
    throw new JustfnError('HANDLER_NOT_FOUND', `${handlerString} is not a function`);
  }
  return describeHandler(fn as LoadedHandler['fn'], handlerString);
}

/** Classifies a handler function: streaming (marked by `streamifyResponse`), callback style, or promise. */
export function describeHandler(fn: LoadedHandler['fn'], name: string): LoadedHandler {
  const marker = (fn as unknown as Record<symbol, unknown>)[STREAMING_SYMBOL];
  if (marker !== undefined && marker !== null && marker !== false) {
    if (marker !== 'response') {
      throw new JustfnError('MALFORMED_STREAMING_HANDLER', 'Only response streaming is supported.');
    }
    const hwm = Number.parseInt(
      String((fn as unknown as Record<symbol, unknown>)[HIGH_WATER_MARK_SYMBOL]),
      10,
    );
    return { fn, name, kind: 'streaming', ...(Number.isNaN(hwm) ? {} : { highWaterMark: hwm }) };
  }
  return { fn, name, kind: fn.length >= 3 ? 'callback' : 'promise' };
}

async function loadModule(
  taskRoot: string,
  moduleRoot: string,
  moduleName: string,
  imports: ModuleImport,
): Promise<unknown> {
  // The name a "Require stack" shows: no file of the function's, the lookup itself.
  const require = createRequire(path.join(taskRoot, '(justfn handler lookup)'));
  const file = path.resolve(taskRoot, moduleRoot, moduleName);
  const tryRequire = (candidate: string) => (existsSync(candidate) ? require(candidate) : undefined);
  const tryImport = async (candidate: string) =>
    existsSync(candidate) ? await importOrStuck(imports, candidate) : undefined;
  try {
    const asIs = tryRequire(file);
    if (asIs) return asIs;
    const esm = isTypeModule(`${file}.js`);
    if (!esm) {
      const js = tryRequire(`${file}.js`);
      if (js) return js;
    }
    const found =
      (esm && (await tryImport(`${file}.js`))) ||
      (await tryImport(`${file}.mjs`)) ||
      tryRequire(`${file}.cjs`);
    if (found) return found;
    return require(require.resolve(moduleName, { paths: [taskRoot, path.resolve(taskRoot, moduleRoot)] }));
  } catch (error) {
    throw toLoadError(error, file);
  }
}

/** How an ES module is imported: by whom, and for how long at most. */
interface ModuleImport {
  importModule: (specifier: string) => Promise<unknown>;
  importTimeoutMs: number | undefined;
}

/**
 * An ES module whose top-level await nothing can settle leaves its import pending once the event loop
 * has run dry, and Node would exit 0 without a word (`justfn start`, `check`, `invoke`). The import fails
 * then instead, with an error that says why; or after `importTimeoutMs`, where the event loop never runs
 * dry (a test runner's worker).
 */
function importOrStuck({ importModule, importTimeoutMs }: ModuleImport, file: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    // The import, `beforeExit` or the timer: whichever comes first answers, and the others stand down.
    const end = () => {
      clearTimeout(timer);
      pendingImports.delete(stuck);
      if (pendingImports.size === 0) process.off('beforeExit', failPendingImports);
    };
    const fail = (message: string) => {
      end();
      reject(new JustfnError('IMPORT_MODULE', `${file}: ${message}`));
    };
    const stuck = () =>
      fail('its top-level await never finished: it awaits a promise that nothing is left to settle');
    // One `beforeExit` listener for every import pending (many at once: justfn/testing's invokeHandler).
    if (pendingImports.size === 0) process.on('beforeExit', failPendingImports);
    pendingImports.add(stuck);
    // Unref'd: where nothing else is left, `beforeExit` says so at once, without waiting for this.
    const timer =
      importTimeoutMs === undefined
        ? undefined
        : setTimeout(
            () => fail(`its top-level await did not finish within ${importTimeoutMs / 1000} s`),
            importTimeoutMs,
          ).unref();
    importModule(pathToFileURL(file).href).then(resolve, reject).finally(end);
  });
}

const pendingImports = new Set<() => void>();

function failPendingImports(): void {
  for (const stuck of pendingImports) stuck();
}

const TYPESCRIPT = ['.ts', '.mts', '.cts', '.tsx'];

function toLoadError(error: unknown, file: string): unknown {
  if (error instanceof SyntaxError) {
    return new JustfnError('USER_CODE_SYNTAX', String(error), { cause: error });
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
    // As Lambda's Node runtime, justfn loads JavaScript: a TypeScript file beside is the likely mistake.
    const typescript = TYPESCRIPT.map((ext) => `${file}${ext}`).find((candidate) => existsSync(candidate));
    const hint = typescript
      ? ` (${path.basename(typescript)} is TypeScript: compile it to .js or .mjs first, as for Lambda)`
      : '';
    const [first, ...rest] = String(error).split('\n');
    return new JustfnError('IMPORT_MODULE', [`${first}${hint}`, ...rest].join('\n'), { cause: error });
  }
  return error;
}

/** Is `file` (a `.js` path) an ES module by its nearest package.json? Stops at `node_modules` as AWS does. */
function isTypeModule(file: string): boolean {
  if (!existsSync(file)) return false;
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    if (dir.endsWith(`${path.sep}node_modules`)) return false;
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        return JSON.parse(readFileSync(pkg, 'utf8'))?.type === 'module';
      } catch {
        return false;
      }
    }
    if (dir === path.dirname(dir)) return false;
  }
}
