import { describe, expect, it } from 'vitest';
import { createDeadlines } from '../../runtime/deadlines.js';
import type { QueuedInvocation } from '../../runtime/loop.js';
import { createQueueSource } from '../../runtime/queue-source.js';

type Call = QueuedInvocation & { n: number };
const call = (n: number): Call => ({
  n,
  event: {},
  info: { requestId: `r${n}`, deadlineMs: Date.now() + 1000, invokedFunctionArn: 'arn' },
  respond: () => {},
});

describe('the queue source', () => {
  it('works off a long queue of handlers that answer synchronously without growing the stack', () => {
    const started: number[] = [];
    let release: (() => void) | undefined;
    const calls = createQueueSource<Call>({
      concurrency: 1,
      queue: 20_000,
      run: (invocation, done) => {
        started.push(invocation.n);
        if (invocation.n === 0) release = done;
        else done();
      },
    });
    expect(calls.submit(call(0))).toBe(true);
    for (let n = 1; n <= 20_000; n++) expect(calls.submit(call(n))).toBe(true);
    expect([calls.running(), calls.queued(), calls.capacity()]).toEqual([1, 20_000, 0]);
    expect(calls.submit(call(20_001))).toBe(false);
    release!();
    expect(started).toHaveLength(20_001);
    expect(started.every((n, i) => n === i)).toBe(true);
    expect([calls.running(), calls.queued()]).toEqual([0, 0]);
  });

  it('tells the idle collector when the last invocation ends, and when work comes again', () => {
    const seen: string[] = [];
    const pending: (() => void)[] = [];
    const calls = createQueueSource<Call>({
      concurrency: 2,
      queue: 2,
      run: (_invocation, done) => pending.push(done),
      idle: { idle: () => seen.push('idle'), busy: () => seen.push('busy') },
    });
    calls.submit(call(1));
    calls.submit(call(2));
    calls.submit(call(3));
    pending.shift()!(); // 1 ends, 3 starts
    pending.shift()!();
    expect(seen).toEqual(['busy']);
    pending.shift()!();
    expect(seen).toEqual(['busy', 'idle']);
    calls.submit(call(4));
    expect(seen).toEqual(['busy', 'idle', 'busy']);
  });

  it('drains: refuses new work, finishes what it accepted, then answers the rest at the timeout', async () => {
    const pending: (() => void)[] = [];
    const calls = createQueueSource<Call>({
      concurrency: 1,
      queue: 5,
      run: (_invocation, done) => pending.push(done),
    });
    calls.submit(call(1));
    calls.submit(call(2));
    const abandoned: number[] = [];
    const drained = calls.drain(200, (invocation) => abandoned.push(invocation.n));
    expect(calls.submit(call(3))).toBe(false);
    pending.shift()!(); // 1 ends, 2 starts and never ends
    await drained;
    expect(abandoned).toEqual([2]);
  });
});

describe('deadlines', () => {
  const deadlines = createDeadlines(20);

  it('fire at the deadline, for a short budget and for one past the grace period', async () => {
    const fired: string[] = [];
    const start = Date.now();
    deadlines.watch(10, () => fired.push(`short ${Date.now() - start}`));
    deadlines.watch(120, () => fired.push(`long ${Date.now() - start}`));
    await expect.poll(() => fired).toHaveLength(2);
    expect(Number(fired[0]!.split(' ')[1])).toBeGreaterThanOrEqual(9);
    expect(fired[1]).toMatch(/^long /);
    expect(Number(fired[1]!.split(' ')[1])).toBeGreaterThanOrEqual(119);
  });

  it('never fire once cancelled, before or after their own timer was armed', async () => {
    const fired: string[] = [];
    deadlines.watch(100, () => fired.push('early'))();
    const late = deadlines.watch(100, () => fired.push('late'));
    // Waits that must pass, and that show something however slow the machine: a timer due later fires
    // later. This one is due after the grace period's sweep, which arms the late one's timer...
    await new Promise((resolve) => setTimeout(resolve, 50));
    late();
    // ...and this one after both deadlines, where a timer left armed would have fired.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(fired).toEqual([]);
  });
});
