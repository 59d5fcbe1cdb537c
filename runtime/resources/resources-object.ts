import { JustfnError } from '../errors.js';

// Names that runtimes and libraries probe on any object (await, JSON.stringify, util.inspect, test
// matchers): they read as undefined instead of throwing, like on a plain object.
const probed = new Set<string>(['then', 'toJSON', 'constructor', 'asymmetricMatch', 'nodeType', '$$typeof']);

/**
 * The object handlers see as `context.resources`: frozen, one getter per declared name returning that
 * resource's current client (it can be replaced after a thaw, so read it per invocation rather than keep
 * it), and a clear error for a name that is not declared, where a plain object would give `undefined`
 * and a confusing `cannot read properties of undefined` later.
 *
 * @example
 * const resources = createResourcesObject(['db'], (name) => clients[name]);
 * resources.db;  // the pg.Pool
 * resources.foo; // throws: context.resources.foo: no resource 'foo' is declared in justfn.yaml (declared: db)
 */
export function createResourcesObject<R extends object>(
  names: readonly string[],
  clientOf: (name: string) => unknown,
  /** Where the names come from, as the error for another one says it. */
  declaredIn = 'justfn.yaml',
): R {
  const target: Record<string, unknown> = {};
  for (const name of names) {
    Object.defineProperty(target, name, { enumerable: true, get: () => clientOf(name) });
  }
  Object.freeze(target);
  const declared = names.length > 0 ? `declared: ${names.join(', ')}` : 'none is declared';
  return new Proxy(target, {
    get(object, key, receiver) {
      if (typeof key === 'symbol' || key in object || probed.has(key))
        return Reflect.get(object, key, receiver);
      throw new JustfnError(
        'RESOURCE_NOT_DECLARED',
        `context.resources.${key}: no resource '${key}' is declared in ${declaredIn} (${declared})`,
      );
    },
  }) as R;
}
