import type { InvocationScope, ScopeEntry } from './scope.js';

// @aws/lambda-invoke-store's keys for what the runtime provides (Symbol.for, so any copy of it agrees).
const REQUEST_ID = Symbol.for('_AWS_LAMBDA_REQUEST_ID');
const X_RAY_TRACE_ID = Symbol.for('_AWS_LAMBDA_X_RAY_TRACE_ID');
const TENANT_ID = Symbol.for('_AWS_LAMBDA_TENANT_ID');
const PROTECTED = new Set<PropertyKey>([
  REQUEST_ID,
  X_RAY_TRACE_ID,
  TENANT_ID,
  Symbol.for('_AWS_LAMBDA_TRACEPARENT'),
  Symbol.for('_AWS_LAMBDA_TRACESTATE'),
  Symbol.for('_AWS_LAMBDA_BAGGAGE'),
]);

type Store = Record<PropertyKey, unknown>;

/**
 * `awslambda.InvokeStore`, as AWS's Node runtime (v4) provides it: the AWS SDK v3 reads the invocation's
 * X-Ray trace id there for its recursion-detection header, Powertools the request id, and
 * `@aws/lambda-invoke-store` takes the instance it finds on the global before making its own. Backed by
 * justfn's invocation scope, so it is right with invocations side by side (Managed Instances, HTTP mode),
 * where the process-wide `_X_AMZN_TRACE_ID` cannot be. Values a library `set`s live with the invocation.
 *
 * @example
 * const store = createInvokeStore(scope);
 * scope.run({ requestId: 'r1', traceId: 'Root=1-a' }, () => store.getXRayTraceId()); // 'Root=1-a'
 */
export function createInvokeStore(scope: InvocationScope) {
  const stores = new WeakMap<ScopeEntry, Store>();
  // Outside any invocation (a library's module top during init): one store, as the library's own
  // single-invocation store has.
  const outside: Store = {};
  const storeOf = (entry: ScopeEntry): Store => {
    let store = stores.get(entry);
    if (!store) {
      store = { [REQUEST_ID]: entry.requestId, [X_RAY_TRACE_ID]: entry.traceId, [TENANT_ID]: entry.tenantId };
      stores.set(entry, store);
    }
    return store;
  };
  const current = (): Store => {
    const entry = scope.current();
    return entry === undefined ? outside : storeOf(entry);
  };
  const get = (key: PropertyKey): unknown => current()[key];
  return {
    isProtectedKey: (key: PropertyKey) => PROTECTED.has(key),
    getRequestId: () => scope.current()?.requestId ?? '-',
    getXRayTraceId: () => scope.current()?.traceId,
    getTenantId: () => scope.current()?.tenantId,
    getTraceparent: () => get(Symbol.for('_AWS_LAMBDA_TRACEPARENT')),
    getTracestate: () => get(Symbol.for('_AWS_LAMBDA_TRACESTATE')),
    getBaggage: () => get(Symbol.for('_AWS_LAMBDA_BAGGAGE')),
    get,
    set(key: PropertyKey, value: unknown): void {
      if (PROTECTED.has(key)) throw new Error(`Cannot modify protected Lambda context field: ${String(key)}`);
      current()[key] = value;
    },
    getContext: () => (scope.current() === undefined ? undefined : current()),
    hasContext: () => scope.current() !== undefined,
    /** Runs `fn` as an invocation of its own, with the ids `context` gives. */
    run<T>(context: Store, fn: () => T): T {
      const entry: ScopeEntry = {
        requestId: typeof context[REQUEST_ID] === 'string' ? context[REQUEST_ID] : '-',
        traceId: context[X_RAY_TRACE_ID] as string | undefined,
        tenantId: context[TENANT_ID] as string | undefined,
      };
      stores.set(entry, { ...context });
      return scope.run(entry, fn);
    },
  };
}
