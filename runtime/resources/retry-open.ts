import type { Entry } from './entry.js';
import type { ResourceLog } from './resource.js';
import type { ResourceError } from './resource-error.js';
import type { RetryOptions } from './resource-registry.js';
import { anySignal, backoff, sleep } from './timing.js';

/**
 * Opens every entry at once and keeps retrying each one that fails, with jittered exponential backoff,
 * logging every failure, until all are open or `stop` aborts. A failure no retry can fix (a service missing
 * from its `.proto`) stops the others and is thrown.
 *
 * @example
 * await retryOpen(entries, shutdown, { initialDelayMs: 100, maxDelayMs: 10_000 }, log);
 */
export async function retryOpen(
  entries: readonly Entry[],
  stop: AbortSignal,
  options: Pick<RetryOptions, 'initialDelayMs' | 'maxDelayMs'>,
  log: ResourceLog,
): Promise<void> {
  const fatal = new AbortController();
  const signal = anySignal([stop, fatal.signal]);
  const delays = { initialMs: options.initialDelayMs ?? 100, maxMs: options.maxDelayMs ?? 10_000 };
  const results = await Promise.allSettled(
    entries.map(async (entry) => {
      try {
        await retryEntry(entry, signal, delays, log);
      } catch (error) {
        fatal.abort(error);
        throw error;
      }
    }),
  );
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

async function retryEntry(
  entry: Entry,
  stop: AbortSignal,
  delays: { initialMs: number; maxMs: number },
  log: ResourceLog,
): Promise<void> {
  entry.health.attempts = 0;
  let fatal: ResourceError | undefined;
  const onFatal = (error: ResourceError) => {
    fatal = error;
  };
  for (;;) {
    try {
      return await entry.open(stop, onFatal);
    } catch (error) {
      if (fatal) {
        log.error({ resource: entry.name, kind: entry.config.kind }, `${fatal.message}; not retrying`);
        throw fatal;
      }
      if (stop.aborted) return;
      const { message } = error as Error;
      const delay = backoff(entry.health.attempts, delays);
      log.warn(
        { resource: entry.name, kind: entry.config.kind, attempt: entry.health.attempts, retryInMs: delay },
        `${message}; retrying in ${delay} ms`,
      );
      entry.set('retrying', false, message);
      await sleep(delay, stop);
      if (stop.aborted) return;
    }
  }
}
