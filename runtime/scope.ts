import { AsyncLocalStorage } from 'node:async_hooks';

/** What log lines written during an invocation are tagged with. */
export interface ScopeEntry {
  requestId: string;
  tenantId?: string | undefined;
  traceId?: string | undefined;
}

/**
 * Which invocation the code running now belongs to: read by the log formatters, so every line written
 * during an invocation carries its request id.
 */
export interface InvocationScope {
  run<T>(entry: ScopeEntry, fn: () => T): T;
  current(): ScopeEntry | undefined;
  /**
   * No invocation starts from here on (the environment shuts down): what is written now is the runtime's
   * and the shutdown hooks', no invocation's.
   */
  forget(): void;
}

/**
 * One invocation at a time (Lambda's classic mode): a plain variable, no async hooks on the hot path. As in
 * AWS's runtime, the id stays until the next invocation, so late lines of leftover work keep it.
 */
export function createSequentialScope(): InvocationScope {
  let current: ScopeEntry | undefined;
  return {
    run(entry, fn) {
      current = entry;
      return fn();
    },
    current: () => current,
    forget() {
      current = undefined;
    },
  };
}

/** Many invocations at once (HTTP mode, Lambda Managed Instances): AsyncLocalStorage keeps them apart. */
export function createConcurrentScope(): InvocationScope {
  const storage = new AsyncLocalStorage<ScopeEntry>();
  return {
    run: (entry, fn) => storage.run(entry, fn),
    current: () => storage.getStore(),
    // A signal's listener runs outside every invocation's store already; those in flight keep theirs.
    forget() {},
  };
}
