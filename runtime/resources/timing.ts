/**
 * Runs `task` with a signal that aborts when `parent` (if any) aborts or after `ms`; settles as soon as
 * either happens, with `onTimeout()` as the error on timeout, even if the task ignores its signal.
 *
 * @example
 * await withTimeout((signal) => pool.request({ path: '/', method: 'GET', signal }), 5000, shutdown, () => new Error('timed out'));
 */
export async function withTimeout<T>(
  task: (signal: AbortSignal) => Promise<T>,
  ms: number,
  parent: AbortSignal | undefined,
  onTimeout: () => Error,
): Promise<T> {
  const controller = new AbortController();
  let onAbort: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const stopped = new Promise<never>((_resolve, reject) => {
    if (parent) {
      onAbort = () => {
        controller.abort(parent.reason);
        reject(parent.reason);
      };
      if (parent.aborted) onAbort();
      else parent.addEventListener('abort', onAbort, { once: true });
    }
    timer = setTimeout(() => {
      const error = onTimeout();
      controller.abort(error);
      reject(error);
    }, ms);
  });
  stopped.catch(() => {});
  try {
    return await Promise.race([task(controller.signal), stopped]);
  } finally {
    clearTimeout(timer);
    if (onAbort) parent?.removeEventListener('abort', onAbort);
  }
}

/**
 * Waits `ms`, or less if `signal` aborts first; never rejects.
 *
 * @example
 * await sleep(backoff(attempt), shutdown);
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * How long to wait before retry `attempt` (1-based): exponential from `initialMs` up to `maxMs`, with
 * "equal jitter" (half fixed, half random) so that many instances restarted together do not retry in step.
 *
 * @example
 * backoff(1, { initialMs: 100, maxMs: 10_000 }); // 50..100
 * backoff(9, { initialMs: 100, maxMs: 10_000 }); // 5000..10000
 */
export function backoff(attempt: number, { initialMs, maxMs }: { initialMs: number; maxMs: number }): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/**
 * A signal that aborts when any of `signals` does (undefined ones are skipped).
 *
 * @example
 * const stop = anySignal([lifetime.signal, options.signal]);
 */
export function anySignal(signals: (AbortSignal | undefined)[]): AbortSignal {
  return AbortSignal.any(signals.filter((s): s is AbortSignal => s !== undefined));
}
