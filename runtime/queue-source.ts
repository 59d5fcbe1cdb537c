import { LinkedList, type ListNode } from './linked-list.js';
import type { QueuedInvocation, Runner } from './loop.js';

export interface QueueSourceOptions<I extends QueuedInvocation> {
  /** Invocations running at once. */
  concurrency: number;
  /** Invocations waiting for a free slot; one more is refused. */
  queue: number;
  /** Runs one invocation to its answer: {@link createRunner}. */
  run: Runner<I>;
  /** Told when the last running invocation ends with nothing queued, and when work comes again. */
  idle?: { idle(): void; busy(): void };
  /** Told of a queued invocation dropped, not run, because its caller went away while it waited. */
  dropped?: (invocation: I) => void;
}

/**
 * Calls as a source of invocations (HTTP requests, gRPC calls): up to `concurrency` run at once, the rest
 * wait in one bounded queue; one whose caller went away while it waited is dropped when its turn comes.
 * `submit` refuses (returns false) when the queue is full; `drain` stops taking new work, lets every
 * accepted invocation finish, and resolves.
 *
 * @example
 * const calls = createQueueSource({ concurrency: 64, queue: 640, run: createRunner(loopOptions) });
 * if (!calls.submit(invocation)) reply.code(503);
 */
export function createQueueSource<I extends QueuedInvocation = QueuedInvocation>(
  options: QueueSourceOptions<I>,
) {
  const { run, idle } = options;
  // Each waiting invocation with its deadline's timer, armed only while it waits: reached, it is answered
  // then (its runner times it out before it starts), not when a slot frees, which a handler that overran
  // may never do. Kept with it rather than in a Map for the same reason as `LinkedList`.
  const queue: Waiting<I>[] = [];
  const active = new LinkedList<I>();
  let closed = false;
  let pumping = false;
  let settled: (() => void) | undefined;

  const start = (invocation: I) => {
    if (active.size === 0) idle?.busy();
    const node = active.add(invocation);
    run(invocation, () => finish(node));
  };
  const finish = (node: ListNode<I>) => {
    if (active.remove(node)) freed();
  };
  const freed = () => {
    pump();
    if (active.size > 0) return;
    if (closed) settled?.();
    else idle?.idle();
  };
  // A handler that answers synchronously would otherwise start the next one from inside its own answer,
  // one stack frame deeper per queued invocation: the queue is worked off in this loop instead.
  const pump = () => {
    if (pumping) return;
    pumping = true;
    try {
      while (queue.length > 0 && active.size < options.concurrency) leave(queue.shift()!);
    } finally {
      pumping = false;
    }
  };

  /** An invocation leaves the queue: it runs, unless its caller went away while it waited. */
  const leave = (waiting: Waiting<I>) => {
    clearTimeout(waiting.expiry);
    const { invocation } = waiting;
    // Under overload callers give up while they wait; running their work would only delay the rest.
    if (invocation.callerGone?.()) options.dropped?.(invocation);
    else start(invocation);
  };
  const expire = (waiting: Waiting<I>) => {
    const at = queue.indexOf(waiting);
    if (at === -1) return;
    // Timers and the wall clock can disagree by a millisecond: it leaves only past its deadline, where its
    // runner answers it without running it (it must not run in a slot that is not free).
    const left = waiting.invocation.info.deadlineMs - Date.now();
    if (left > 0) {
      waiting.expiry = setTimeout(expire, left, waiting).unref();
      return;
    }
    queue.splice(at, 1);
    leave(waiting);
  };

  return {
    /** Starts an invocation in a free slot, or queues it; false when even the queue is full (or draining). */
    submit(invocation: I): boolean {
      if (closed) return false;
      if (active.size < options.concurrency && queue.length === 0) {
        start(invocation);
        return true;
      }
      if (queue.length >= options.queue) return false;
      const waiting: Waiting<I> = { invocation, expiry: undefined };
      queue.push(waiting);
      waiting.expiry = setTimeout(
        expire,
        Math.max(invocation.info.deadlineMs - Date.now(), 0),
        waiting,
      ).unref();
      pump();
      return true;
    },
    /** Invocations running now. */
    running: () => active.size,
    /** Invocations waiting for a slot. */
    queued: () => queue.length,
    /** Every invocation accepted and not yet answered: running, then waiting. */
    outstanding: (): I[] => [...active, ...queue.map((waiting) => waiting.invocation)],
    /** Whether an accepted invocation has started (it holds a slot) rather than waiting for one. */
    isRunning: (invocation: I): boolean => [...active].includes(invocation),
    /**
     * Frees the slot of a running invocation whose handler will not finish (an uncaught exception came out
     * of it, and it was answered for it): the next waiting one starts there; its end, should it come,
     * changes nothing.
     */
    release(invocation: I): void {
      if (active.delete(invocation)) freed();
    },
    /** The most invocations it ever holds at once: every slot running and every queue place waiting. */
    limit: options.concurrency + options.queue,
    /** How many more invocations `submit` would take now: free slots plus free queue places. */
    capacity: () =>
      closed ? 0 : Math.max(options.concurrency - active.size, 0) + options.queue - queue.length,
    get closed() {
      return closed;
    },
    /**
     * Takes no new work and resolves once every accepted invocation was answered. Past `timeoutMs`, the
     * ones still running or queued are answered by `abandon` (told which: a queued one never ran, so its
     * caller may retry it; the answer must be idempotent: a late outcome is ignored) and the promise
     * resolves anyway: nothing accepted goes unanswered.
     */
    drain(timeoutMs: number, abandon: (invocation: I, running: boolean) => void): Promise<void> {
      closed = true;
      const done = new Promise<void>((resolve) => {
        settled = resolve;
      });
      if (active.size === 0 && queue.length === 0) settled?.();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          // Answered now, so no longer outstanding, though a handler may still be running.
          const running = active.clear();
          const waiting = queue.splice(0).map((entry) => {
            clearTimeout(entry.expiry);
            return entry.invocation;
          });
          for (const invocation of running) abandon(invocation, true);
          for (const invocation of waiting) abandon(invocation, false);
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

interface Waiting<I> {
  invocation: I;
  expiry: NodeJS.Timeout | undefined;
}
