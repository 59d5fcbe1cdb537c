import { LinkedList } from './linked-list.js';

/**
 * Deadline timers for many short invocations. Most invocations in the server modes end within a
 * millisecond; arming, and clearing, a timer for each costs more than the handler (a `Timeout` object, an
 * async hook under AsyncLocalStorage, two timer-list operations). An invocation that is still running
 * after `graceMs` gets a timer of its own, for the exact deadline; one that ends sooner never does.
 *
 * @example
 * const deadlines = createDeadlines();
 * const cancel = deadlines.watch(30_000, () => answerTimedOut());
 * // ...the handler answered:
 * cancel();
 */
export function createDeadlines(graceMs = 50) {
  const pending = new LinkedList<Watch>();
  let sweeping = false;

  const armPending = () => {
    sweeping = false;
    for (const watch of pending.clear()) {
      watch.timer = setTimeout(watch.onTimeout, watch.at - Date.now());
    }
  };

  return {
    /** Calls `onTimeout` in `ms` unless the returned function is called first. */
    watch(ms: number, onTimeout: () => void): () => void {
      if (ms <= graceMs * 2) {
        const timer = setTimeout(onTimeout, ms);
        return () => clearTimeout(timer);
      }
      const watch: Watch = { at: Date.now() + ms, onTimeout, timer: undefined };
      const node = pending.add(watch);
      if (!sweeping) {
        sweeping = true;
        setTimeout(armPending, graceMs);
      }
      return () => {
        if (watch.timer) clearTimeout(watch.timer);
        else pending.remove(node);
      };
    },
  };
}

interface Watch {
  at: number;
  onTimeout: () => void;
  timer: NodeJS.Timeout | undefined;
}
