import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type HeapEntry, OrderedHeap } from './ordered-heap.js';

interface Item extends HeapEntry<string> {
  key: number;
  readonly order: number;
}

const less = (a: Item, b: Item) => a.key < b.key || (a.key === b.key && a.order < b.order);

/** The least accepted item by brute force. */
function least(items: readonly Item[], accept: (w: string) => boolean): Item | undefined {
  return items.filter((i) => accept(i.worker)).sort((a, b) => (less(a, b) ? -1 : 1))[0];
}

describe('OrderedHeap', () => {
  it('first() is the least accepted entry, through any sequence of key changes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 40 }),
        fc.array(
          fc.tuple(
            fc.nat(),
            fc.integer({ min: 0, max: 20 }),
            fc.array(fc.boolean(), { maxLength: 40 }),
          ),
          { maxLength: 60 },
        ),
        (keys, steps) => {
          const items: Item[] = keys.map((key, order) => ({
            worker: `w${order}`,
            heapPos: 0,
            key,
            order,
          }));
          const heap = new OrderedHeap<string, Item>(less);
          heap.reset([...items]);
          for (const [at, key, flags] of steps) {
            const item = items[at % items.length]!;
            item.key = key;
            heap.update(item);
            const rejected = new Set(items.filter((_, i) => flags[i]).map((i) => i.worker));
            const accept = (w: string) => !rejected.has(w);
            expect(heap.first(accept, undefined)).toBe(least(items, accept));
            expect(heap.peek()).toBe(least(items, () => true));
          }
          // Every key changed at once, then the order restored in one pass.
          heap.updateAll((item) => {
            item.key = (item.key * 7 + item.order) % 13;
          });
          expect(heap.first(() => true, undefined)).toBe(least(items, () => true));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('looks at the root only when it is accepted, and at each entry at most once otherwise', () => {
    const items: Item[] = Array.from({ length: 100 }, (_, i) => ({
      worker: `w${i}`,
      heapPos: 0,
      key: i,
      order: i,
    }));
    const heap = new OrderedHeap<string, Item>(less);
    heap.reset([...items]);
    let calls = 0;
    heap.first(() => {
      calls++;
      return true;
    }, undefined);
    expect(calls).toBe(1);
    calls = 0;
    const seen = new Set<string>();
    expect(
      heap.first((w) => {
        calls++;
        seen.add(w);
        return false;
      }, undefined),
    ).toBeUndefined();
    expect(calls).toBe(100);
    expect(seen.size).toBe(100);
    // The k least rejected: k + 1 calls, in key order.
    const order: string[] = [];
    expect(
      heap.first((w) => {
        order.push(w);
        return w === 'w5';
      }, undefined)?.worker,
    ).toBe('w5');
    expect(order).toEqual(['w0', 'w1', 'w2', 'w3', 'w4', 'w5']);
  });
});
