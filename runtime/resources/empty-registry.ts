import type { ResourceRegistry } from './resource-registry.js';
import { createResourcesObject } from './resources-object.js';

/**
 * The registry of a function that declares no resources: always ready, nothing to open, and
 * `context.resources.x` still throws the clear "not declared" error. It loads none of the resource kinds.
 *
 * @example
 * const registry = declaredNames.length === 0 ? createEmptyRegistry() : createResourceRegistry(declared, options);
 */
export function createEmptyRegistry<R extends object = Record<string, unknown>>(): ResourceRegistry<R> {
  const done = Promise.resolve();
  return {
    resources: createResourcesObject<R>([], () => undefined),
    open: () => done,
    openWithRetry: async (options) => {
      options?.onState?.({ ready: true, resources: {} });
      return true;
    },
    check: async () => ({ ready: true, resources: {} }),
    ensureFresh: async () => true,
    markUsed: () => {},
    close: () => done,
    health: () => ({ ready: true, resources: {} }),
  };
}
