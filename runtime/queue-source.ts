import { JustfnError } from './errors.js';
import type { Outcome } from './invoke.js';
import type { Invocation, Source } from './loop.js';
import type { StreamSink } from './streaming.js';

/**
 * An invocation that knows how to answer its own caller (an HTTP request, a gRPC call). `respond` may
 * return a promise — a gRPC server stream — and the loop's slot stays taken until it settles.
 */
export interface QueuedInvocation extends Invocation {
  respond(outcome: Outcome): void | Promise<void>;
  /** Where a streaming handler's bytes go, when the caller can take a stream. */
  openStream?(): StreamSink;
}

export interface QueueSourceOptions {
  /** Invocations running at once: the number of loops pulling from this source. */
  concurrency: number;
  /** Invocations waiting for a free loop; one more is refused. */
  queue: number;
}

/**
 * Calls as a source for the loop (HTTP requests, gRPC calls): `concurrency` loops pull from one bounded
 * queue. `submit` refuses (returns false) when the queue is full; `drain` stops taking new work, lets
 * every accepted invocation finish, and ends the loops.
 *
 * @example
 * const calls = createQueueSource({ concurrency: 64, queue: 640 });
 * for (let i = 0; i < 64; i++) void runLoop(calls.source, loopOptions);
 * if (!calls.submit(invocation)) reply.code(503);
 */
export function createQueueSource<I extends QueuedInvocation = QueuedInvocation>(
  options: QueueSourceOptions,
) {
  const queue: I[] = [];
  const idle: ((invocation: I | undefined) => void)[] = [];
  const active = new Set<I>();
  let closed = false;
  let settled: (() => void) | undefined;

  const checkDrained = () => {
    if (closed && active.size === 0 && queue.length === 0) {
      for (const loop of idle.splice(0)) loop(undefined);
      settled?.();
    }
  };

  const source: Source<I> = {
    next() {
      const waiting = queue.shift();
      if (waiting) {
        active.add(waiting);
        return Promise.resolve(waiting);
      }
      if (closed) return Promise.resolve(undefined);
      return new Promise((resolve) => idle.push(resolve));
    },
    async complete(invocation, outcome) {
      try {
        await invocation.respond(outcome);
      } finally {
        active.delete(invocation);
        checkDrained();
      }
    },
    openStream: (invocation) => {
      if (!invocation.openStream)
        throw new JustfnError('MALFORMED_STREAMING_HANDLER', 'This source cannot stream responses.');
      return invocation.openStream();
    },
  };

  return {
    source,
    /** Hands a request to a free loop, or queues it; false when even the queue is full (or draining). */
    submit(invocation: I): boolean {
      if (closed) return false;
      const loop = idle.shift();
      if (loop) {
        active.add(invocation);
        loop(invocation);
        return true;
      }
      if (queue.length >= options.queue) return false;
      queue.push(invocation);
      return true;
    },
    /** Invocations running now. */
    running: () => active.size,
    /** Invocations waiting for a loop. */
    queued: () => queue.length,
    /** How many more invocations `submit` would take now: free loops plus free queue places. */
    capacity: () => (closed ? 0 : idle.length + options.queue - queue.length),
    get closed() {
      return closed;
    },
    /**
     * Takes no new work and resolves once every accepted invocation was answered. Past `timeoutMs`, the
     * ones still queued or running are answered by `abandon` (their answer must be idempotent: a late
     * outcome is ignored) and the promise resolves anyway: nothing accepted goes unanswered.
     */
    drain(timeoutMs: number, abandon: (invocation: I) => void): Promise<void> {
      closed = true;
      const done = new Promise<void>((resolve) => {
        settled = resolve;
      });
      checkDrained();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          for (const waiting of [...queue.splice(0), ...active]) abandon(waiting);
          resolve();
        }, timeoutMs);
        timer.unref();
      });
      return Promise.race([done, deadline]).finally(() => clearTimeout(timer));
    },
  };
}

export type QueueSource<I extends QueuedInvocation = QueuedInvocation> = ReturnType<
  typeof createQueueSource<I>
>;
