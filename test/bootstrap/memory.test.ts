import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createIdleCollector } from '../../bootstrap/memory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A collector that waits 1 s of quiet, with a gc that counts its calls. */
function collector(options: { thorough?: boolean } = {}) {
  const gc = vi.fn();
  return { gc, idle: createIdleCollector({ delayMs: 1_000, gc, ...options }) };
}

/** Starts a quiet spell and checks that the collection comes at its delay, not a millisecond sooner. */
function expectCollectionAfterDelay({ idle, gc }: ReturnType<typeof collector>) {
  const before = gc.mock.calls.length;
  idle.idle();
  vi.advanceTimersByTime(999);
  expect(gc).toHaveBeenCalledTimes(before);
  vi.advanceTimersByTime(1);
  expect(gc).toHaveBeenCalledTimes(before + 1);
}

describe('the idle collector', () => {
  it('collects once a quiet spell lasts the delay, and once more a quiet window later', () => {
    const { gc, idle } = collector();
    expectCollectionAfterDelay({ idle, gc });
    vi.advanceTimersByTime(6_000);
    expect(gc).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(60_000);
    expect(gc).toHaveBeenCalledTimes(2);
  });

  it('does not collect while work keeps coming, however long it goes on', () => {
    const { gc, idle } = collector();
    for (let i = 0; i < 100; i++) {
      idle.idle();
      vi.advanceTimersByTime(600);
      idle.busy();
      vi.advanceTimersByTime(600);
    }
    expect(gc).toHaveBeenCalledTimes(0);
    // The quiet spell that finally lasts is measured from its own start.
    expectCollectionAfterDelay({ idle, gc });
  });

  it('work between the two collections cancels the second; the next quiet spell starts over', () => {
    const { gc, idle } = collector();
    idle.idle();
    vi.advanceTimersByTime(1_000);
    idle.busy();
    vi.advanceTimersByTime(10_000);
    expect(gc).toHaveBeenCalledTimes(1);
    idle.idle();
    vi.advanceTimersByTime(1_000);
    expect(gc).toHaveBeenCalledTimes(2);
  });

  it('thorough: each collection is two back to back', () => {
    const { gc, idle } = collector({ thorough: true });
    idle.idle();
    vi.advanceTimersByTime(1_000);
    expect(gc).toHaveBeenCalledTimes(2);
  });

  it('arms one timer per quiet spell, not one per invocation', () => {
    const { idle } = collector();
    for (let i = 0; i < 1_000; i++) {
      idle.busy();
      idle.idle();
    }
    expect(vi.getTimerCount()).toBe(1);
  });
});
