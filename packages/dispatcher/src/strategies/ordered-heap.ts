/**
 * Workers kept in order of a key that changes one worker at a time: a binary
 * min-heap whose entries know their slot, so one worker's new key costs
 * O(log n). `least-inflight` orders by load, `latency` by the virtual time of
 * each worker's next turn.
 *
 * {@link OrderedHeap.first} finds the least entry the filter accepts without
 * sorting: the root in O(1) when it is accepted (the usual case), else a
 * best-first walk of the heap's tree with a preallocated frontier, O(k log k)
 * past k rejected entries. Nothing is allocated per call.
 */

/** An entry of an {@link OrderedHeap}; `heapPos` is the heap's to keep. */
export interface HeapEntry<W> {
  readonly worker: W;
  heapPos: number;
}

export class OrderedHeap<W, E extends HeapEntry<W>> {
  #entries: E[] = [];
  /** Slots still to look at in {@link first}, as a min-heap by their entries' order. */
  #frontier = new Int32Array(0);
  readonly #less: (a: E, b: E) => boolean;

  /** `less(a, b)`: whether `a` comes before `b`. It must be a strict total order. */
  constructor(less: (a: E, b: E) => boolean) {
    this.#less = less;
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Takes `entries` as the whole heap (the array is kept, not copied). */
  reset(entries: E[]): void {
    this.#entries = entries;
    this.#frontier = new Int32Array(entries.length);
    entries.forEach((e, i) => {
      e.heapPos = i;
    });
    for (let i = (entries.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  /** Calls `change` on every entry (which may change any key), then restores the order: O(n). */
  updateAll(change: (entry: E) => void): void {
    const h = this.#entries;
    for (let i = 0; i < h.length; i++) change(h[i]!);
    for (let i = (h.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  /** `entry`'s key changed: it moves to its place. */
  update(entry: E): void {
    const i = entry.heapPos;
    if (this.#entries[i] !== entry) return;
    if (!this.#up(i)) this.#down(i);
  }

  /** The least entry. */
  peek(): E | undefined {
    return this.#entries[0];
  }

  /** The least entry whose worker `accept(worker, arg)` takes, or undefined when none does. */
  first<A>(accept: (worker: W, arg: A) => boolean, arg: A): E | undefined {
    const h = this.#entries;
    const n = h.length;
    if (n === 0) return undefined;
    if (accept(h[0]!.worker, arg)) return h[0];
    const f = this.#frontier;
    let size = 0;
    if (n > 1) size = this.#push(size, 1);
    if (n > 2) size = this.#push(size, 2);
    while (size > 0) {
      const slot = f[0]!;
      // Pop: the last slot sinks from the top.
      const last = f[--size]!;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= size) break;
        const r = l + 1;
        const c = r < size && this.#less(h[f[r]!]!, h[f[l]!]!) ? r : l;
        if (!this.#less(h[f[c]!]!, h[last]!)) break;
        f[i] = f[c]!;
        i = c;
      }
      f[i] = last;
      const entry = h[slot]!;
      if (accept(entry.worker, arg)) return entry;
      const child = 2 * slot + 1;
      if (child < n) size = this.#push(size, child);
      if (child + 1 < n) size = this.#push(size, child + 1);
    }
    return undefined;
  }

  /** Adds heap slot `slot` to the frontier of `size` slots; returns the new size. */
  #push(size: number, slot: number): number {
    const h = this.#entries;
    const f = this.#frontier;
    let i = size;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(h[slot]!, h[f[parent]!]!)) break;
      f[i] = f[parent]!;
      i = parent;
    }
    f[i] = slot;
    return size + 1;
  }

  #up(i: number): boolean {
    const h = this.#entries;
    const e = h[i]!;
    const start = i;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent]!;
      if (!this.#less(e, p)) break;
      h[i] = p;
      p.heapPos = i;
      i = parent;
    }
    h[i] = e;
    e.heapPos = i;
    return i !== start;
  }

  #down(i: number): void {
    const h = this.#entries;
    const n = h.length;
    const e = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.#less(h[r]!, h[l]!) ? r : l;
      const child = h[c]!;
      if (!this.#less(child, e)) break;
      h[i] = child;
      child.heapPos = i;
      i = c;
    }
    h[i] = e;
    e.heapPos = i;
  }
}
