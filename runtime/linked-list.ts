/** One entry of a {@link LinkedList}: what `add` returns, to remove it again. */
export interface ListNode<T> {
  readonly value: T;
  prev: ListNode<T> | undefined;
  next: ListNode<T> | undefined;
  /** Still in its list. */
  linked: boolean;
}

/**
 * A list for the sets of the hot path — the invocations running, the deadlines waiting to be armed —
 * that gain and lose an entry for every request: adding and removing allocate nothing beyond the entry.
 * A `Set` would, in the wrong place: a set that lives as long as the process is in V8's old generation,
 * and V8 allocates each resized hash table in the generation of the table it replaces. Going from 0 to 1
 * entry and back resizes it both ways, so a set that does that per request leaves ~70 bytes of
 * old-generation garbage each time (7 MiB a second at 30,000 requests a second, in a profile of HTTP
 * mode), which only full collections reclaim: the process grew by 30 MiB under load.
 *
 * @example
 * const running = new LinkedList<string>();
 * const node = running.add('a');
 * running.remove(node); // true; false the second time
 */
export class LinkedList<T> {
  #head: ListNode<T> | undefined;
  #tail: ListNode<T> | undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(value: T): ListNode<T> {
    const node: ListNode<T> = { value, prev: this.#tail, next: undefined, linked: true };
    if (this.#tail) this.#tail.next = node;
    else this.#head = node;
    this.#tail = node;
    this.#size++;
    return node;
  }

  /** Takes `node` out of the list; false if it was no longer in it. */
  remove(node: ListNode<T>): boolean {
    if (!node.linked) return false;
    node.linked = false;
    if (node.prev) node.prev.next = node.next;
    else this.#head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.#tail = node.prev;
    node.prev = undefined;
    node.next = undefined;
    this.#size--;
    return true;
  }

  /** Takes the entry holding `value` out of the list (a walk: for the rare path); false if none did. */
  delete(value: T): boolean {
    for (let node = this.#head; node; node = node.next) if (node.value === value) return this.remove(node);
    return false;
  }

  /** Empties the list and returns what it held, oldest first. */
  clear(): T[] {
    const values: T[] = [];
    // Each node is unlinked too: a node its owner keeps (to remove it later) must not keep the rest alive.
    for (let node = this.#head; node; ) {
      const next = node.next;
      values.push(node.value);
      node.linked = false;
      node.prev = undefined;
      node.next = undefined;
      node = next;
    }
    this.#head = undefined;
    this.#tail = undefined;
    this.#size = 0;
    return values;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let node = this.#head; node; node = node.next) yield node.value;
  }
}
