import { describe, expect, it } from 'vitest';
import { LinkedList } from '../../runtime/linked-list.js';

describe('LinkedList', () => {
  it('keeps entries in order; removes each once, from anywhere', () => {
    const list = new LinkedList<string>();
    const [a, b, c] = ['a', 'b', 'c'].map((value) => list.add(value));
    expect([...list]).toEqual(['a', 'b', 'c']);
    expect(list.remove(b!)).toBe(true);
    expect(list.remove(b!)).toBe(false);
    expect([...list]).toEqual(['a', 'c']);
    expect([list.remove(a!), list.remove(c!), list.size, [...list]]).toEqual([true, true, 0, []]);
    list.add('d');
    expect([...list]).toEqual(['d']);
  });

  it('clear returns what it held, and what was cleared cannot be removed again', () => {
    const list = new LinkedList<number>();
    const nodes = [1, 2, 3].map((value) => list.add(value));
    expect(list.clear()).toEqual([1, 2, 3]);
    expect([list.size, [...list], nodes.map((node) => list.remove(node))]).toEqual([
      0,
      [],
      [false, false, false],
    ]);
    // A cleared node that is kept (to be removed later) holds none of the others.
    expect(nodes.map((node) => [node.prev, node.next])).toEqual(Array(3).fill([undefined, undefined]));
  });
});
