import { existsSync } from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * `NODE_PATH` as Lambda's managed runtime of this Node (or of `nodeMajor`) sets it: the packages of layers
 * (`nodejs/nodeNN/node_modules`, then `nodejs/node_modules`), the runtime's own, then the function's
 * directory.
 *
 * @example
 * lambdaNodePath('22'); // '/opt/nodejs/node22/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task'
 */
export function lambdaNodePath(nodeMajor = process.versions.node.split('.')[0]!): string {
  return [
    `/opt/nodejs/node${nodeMajor}/node_modules`,
    '/opt/nodejs/node_modules',
    '/var/runtime/node_modules',
    '/var/runtime',
    '/var/task',
  ].join(path.delimiter);
}

/**
 * Lambda mode finds packages where Lambda's managed Node runtime does, so that a function whose
 * dependencies come in a layer of their own runs on justfn's layer too: `NODE_PATH` is set as that runtime
 * sets it (unless set already) for `require()`, and an `import` of a package that the function's own
 * `node_modules` lack is looked up in the `node_modules` directories of `NODE_PATH` as well, as Lambda
 * does since Node 18 (Node itself ignores `NODE_PATH` for ES modules). That second part needs Node's
 * in-thread module hooks (`module.registerHooks`, Node 22.15), which the layer's and the image's Node
 * have; it is installed only when one of those directories exists, so that a function without such a
 * layer pays three `stat`s.
 */
export function useLambdaNodePath(env: NodeJS.ProcessEnv): void {
  if (env.NODE_PATH === undefined) {
    env.NODE_PATH = lambdaNodePath();
    // The CommonJS loader read NODE_PATH when Node started: read it again.
    (Module as unknown as { _initPaths(): void })._initPaths();
  }
  const roots = env.NODE_PATH.split(path.delimiter).filter(
    (dir) => path.basename(dir) === 'node_modules' && existsSync(dir),
  );
  const { registerHooks } = Module as { registerHooks?: RegisterHooks };
  if (roots.length === 0 || !registerHooks) return;
  // Resolving as if imported from a file beside each directory finds the packages inside it, with the
  // `import` conditions of their `exports`.
  const parents = roots.map((dir) => pathToFileURL(path.join(dir, '..', 'node-path.mjs')).href);
  registerHooks({
    resolve(specifier, context, nextResolve) {
      try {
        return nextResolve(specifier, context);
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND' || !isBare(specifier)) throw error;
        for (const parentURL of parents) {
          try {
            return nextResolve(specifier, { ...context, parentURL });
          } catch (there) {
            // Found there but not to be imported (a subpath its `exports` do not list, a package.json that
            // does not parse): Node's own error, as from the function's node_modules, not "Cannot find package".
            if ((there as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') throw there;
          }
        }
        throw error;
      }
    },
  });
}

/** A package name (`pg`, `@scope/pkg/sub`), not a path, a URL or a `#` import. */
function isBare(specifier: string): boolean {
  return !/^(?:[./#]|[a-z][a-z0-9+.-]*:)/i.test(specifier);
}

// `module.registerHooks`, which @types/node 20 does not declare: what this file uses of it.
interface ResolveContext {
  parentURL?: string;
  conditions?: readonly string[];
  importAttributes?: Record<string, string>;
}
interface ResolveResult {
  url: string;
  format?: string | null;
  shortCircuit?: boolean;
}
type RegisterHooks = (hooks: {
  resolve(
    specifier: string,
    context: ResolveContext,
    nextResolve: (specifier: string, context?: ResolveContext) => ResolveResult,
  ): ResolveResult;
}) => unknown;
