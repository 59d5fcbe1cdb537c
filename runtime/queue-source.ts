import type { Outcome } from '../../runtime/invoke.js';
import type { Invocation, Source } from '../../runtime/loop.js';
import type { StreamSink } from '../../runtime/streaming.js';

/** An invocation made from an HTTP request: it knows how to answer its own request. */
export interface HttpInvocation extends Invocation {
  /** Sends the outcome back to the client (the event format decides how). */
  respond(outcome: Outcome): void;
  /** A streaming handler's bytes go straight to the client. */
  openStream(): StreamSink;
}

export interface HttpSourceOptions {
  /** Invocations running at once: the number of loops pulling from this source. */
  concurrency: number;
  /** Invocations waiting for a free loop; one more is refused. */
  queue: number;
}

/**
 * Requests as a source for the loop: `concurrency` loops pull from one bounded queue. `submit` refuses
 * (returns false) when the queue is full; `drain` stops taking new work, lets every accepted invocation
 * finish, and ends the loops.
 *
 * @example
 * const http = createHttpSource({ concurrency: 64, queue: 640 });
 * for (let i = 0; i < 64; i++) void runLoop(http.source, loopOptions);
 * if (!http.submit(invocation)) reply.code(503);
 */
export function createHttpSource(options: HttpSourceOptions) {
  const queue: HttpInvocation[] = [];
  const idle: ((invocation: HttpInvocation | undefined) => void)[] = [];
  const active = new Set<HttpInvocation>();
  let closed = false;
  let settled: (() => void) | undefined;

  const checkDrained = () => {
    if (closed && active.size === 0 && queue.length === 0) {
      for (const loop of idle.splice(0)) loop(undefined);
      settled?.();
    }
  };

  const source: Source<HttpInvocation> = {
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
      active.delete(invocation);
      invocation.respond(outcome);
      checkDrained();
    },
    openStream: (invocation) => invocation.openStream(),
  };

  return {
    source,
    /** Hands a request to a free loop, or queues it; false when even the queue is full (or draining). */
    submit(invocation: HttpInvocation): boolean {
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
    drain(timeoutMs: number, abandon: (invocation: HttpInvocation) => void): Promise<void> {
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

export type HttpSource = ReturnType<typeof createHttpSource>;
