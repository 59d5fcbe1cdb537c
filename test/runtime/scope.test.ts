import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createConcurrentScope, type ScopeEntry } from '../../runtime/scope.js';

const a: ScopeEntry = { requestId: 'a' };
const b: ScopeEntry = { requestId: 'b' };
const c: ScopeEntry = { requestId: 'c' };

describe('the concurrent scope (HTTP and gRPC mode, Managed Instances)', () => {
  it('an invocation that runs alone is current in all it starts, and after it ends until the next one', async () => {
    const scope = createConcurrentScope();
    const id = () => scope.current()?.requestId;
    const seen = await scope.run(a, async (end) => {
      const before = id();
      await sleep(5);
      const later = await new Promise((resolve) => setImmediate(() => resolve(id())));
      end();
      return [before, later];
    });
    // As on Lambda: a line that leftover work writes after the answer still carries the id.
    expect([...(seen as string[]), id()]).toEqual(['a', 'a', 'a']);
    scope.run(b, (end) => end());
    expect(id()).toBe('b');
  });

  it('invocations side by side keep apart from the first overlap on, the one that ran alone included', async () => {
    const scope = createConcurrentScope();
    const id = () => scope.current()?.requestId;
    const seen: string[] = [];
    let endA = () => {};
    const first = scope.run(a, async (end) => {
      endA = end;
      await sleep(20);
      seen.push(`a sees ${id()}`);
    });
    const second = scope.run(b, async (end) => {
      await sleep(5);
      seen.push(`b sees ${id()}`);
      // The queue starts the next waiting invocation from inside the answer of the one that ended.
      end();
      return scope.run(c, async (endC) => {
        await sleep(5);
        seen.push(`c sees ${id()}`);
        endC();
      });
    });
    await Promise.all([first, second]);
    expect(seen).toEqual(['b sees b', 'c sees c', 'a sees a']);
    endA();
    // Outside every invocation once the one that ran alone is over.
    expect(id()).toBeUndefined();
    expect(await scope.run(b, async (end) => [id(), await sleep(1).then(id), end()])).toEqual([
      'b',
      'b',
      undefined,
    ]);
  });
});
