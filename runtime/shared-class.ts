const ownInstance = Function.prototype[Symbol.hasInstance];

/**
 * Makes `value instanceof Class` hold for instances made by any copy of justfn: the runtime's bundle has
 * its classes, and the `justfn` package a function imports (its own node_modules, or the package build)
 * has others, so a context or an error the runtime made failed `instanceof` against the classes the
 * function imported. Instances carry a brand under `Symbol.for('justfn.<name>')`, which every copy
 * shares; a subclass keeps the ordinary check.
 *
 * @example
 * shareInstanceof(JustfnError, 'JustfnError');
 */
export function shareInstanceof(Class: abstract new (...args: never[]) => object, name: string): void {
  const brand = Symbol.for(`justfn.${name}`);
  Object.defineProperty(Class.prototype, brand, { value: true });
  Object.defineProperty(Class, Symbol.hasInstance, {
    value(this: unknown, value: unknown): boolean {
      if (this !== Class) return ownInstance.call(this, value);
      return (
        typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true
      );
    },
  });
}
