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
  /**
   * Runs `fn` as the invocation `entry`: what it runs, and what that starts, belongs to it. The
   * invocation counts as running until `fn` calls `end` (once its answer is out).
   */
  run<T>(entry: ScopeEntry, fn: (end: () => void) => T): T;
  current(): ScopeEntry | undefined;
}

const ignore = () => {};

/**
 * One invocation at a time (Lambda's classic mode): a plain variable, no async hooks on the hot path. As in
 * AWS's runtime, the id stays until the next invocation, so late lines of leftover work keep it.
 */
export function createSequentialScope(): InvocationScope {
  let current: ScopeEntry | undefined;
  return {
    run(entry, fn) {
      current = entry;
      return fn(ignore);
    },
    current: () => current,
  };
}

/**
 * Many invocations at once (HTTP and gRPC mode, Lambda Managed Instances): AsyncLocalStorage keeps them
 * apart. On Node 20 it costs every promise of the process an async hook once it is on (a sixth of the CPU
 * of a hello request), so it comes on only when needed: while invocations run one at a time (a
 * concurrency of 1, handlers that answer before the next request is read) a plain variable says which,
 * as in {@link createSequentialScope}; the first invocation that starts while another runs turns
 * AsyncLocalStorage on for good. Code that carries no invocation of its own from then on (the one that
 * was running alone, work begun outside any invocation) belongs to the invocation that ran alone, until
 * it ends.
 */
export function createConcurrentScope(): InvocationScope {
  const storage = new AsyncLocalStorage<ScopeEntry>();
  let concurrent = false;
  let running = 0;
  /** The invocation last run without AsyncLocalStorage, and whether it still runs. */
  let alone: ScopeEntry | undefined;
  let aloneRunning = false;
  return {
    run(entry, fn) {
      running++;
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        running--;
        if (entry !== alone) return;
        aloneRunning = false;
        if (concurrent) alone = undefined;
      };
      if (!concurrent && running === 1) {
        alone = entry;
        aloneRunning = true;
        return fn(end);
      }
      if (!concurrent) {
        concurrent = true;
        if (!aloneRunning) alone = undefined;
      }
      return storage.run(entry, fn, end);
    },
    current: () => (concurrent ? (storage.getStore() ?? alone) : alone),
  };
}
