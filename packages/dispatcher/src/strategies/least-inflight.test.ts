import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyChange,
  changeArb,
  counts,
  type Fake,
  fleet,
  give,
  hasRoom,
  pickN,
  take,
  weightsArb,
} from '../testing/strategy-fixture.js';
import { LeastInflight } from './least-inflight.js';

/** A random life of a fleet: picks (the attempt starts), ends, capacity and membership changes. */
const opsArb = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.constant({ op: 'pick' as const }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('end' as const), at: fc.nat() }) },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('capacity' as const),
        at: fc.nat(),
        capacity: fc.integer({ min: 0, max: 8 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('down' as const), at: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('change' as const), change: changeArb }) },
  ),
  { maxLength: 300 },
);

describe('least-inflight', () => {
  it('picks a worker of least inflight/weight among those with room, never one at capacity while another has room', () => {
    fc.assert(
      fc.property(weightsArb, opsArb, (weights, ops) => {
        const s = new LeastInflight<Fake>();
        let workers = fleet(weights, 4);
        s.rebuild(workers);
        for (const op of ops) {
          if (op.op === 'pick') {
            const free = workers.filter((w) => hasRoom(w, undefined));
            const picked = s.pick(hasRoom, undefined);
            if (free.length === 0) {
              expect(picked).toBeUndefined();
              continue;
            }
            expect(picked).toBeDefined();
            expect(picked!.inflight).toBeLessThan(picked!.capacity);
            const least = Math.min(...free.map((w) => w.inflight / w.weight));
            expect(picked!.inflight / picked!.weight).toBeCloseTo(least, 12);
            take(s, picked!);
          } else if (op.op === 'end') {
            const busy = workers.filter((w) => w.inflight > 0);
            if (busy.length > 0) give(s, busy[op.at % busy.length]!);
          } else if (op.op === 'capacity') {
            // Capacity shrinks with stuck slots; it is the filter's to read, not the order's.
            workers[op.at % workers.length]!.capacity = op.capacity;
          } else if (op.op === 'down') {
            const w = workers[op.at % workers.length]!;
            w.down = !w.down;
          } else {
            workers = applyChange(workers, op.change);
            for (const w of workers) if (!Number.isFinite(w.capacity)) w.capacity = 4;
            s.rebuild(workers);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('breaks ties without bias: equally loaded workers take exact turns', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 5 }),
        fc.nat({ max: 3 }),
        (n, rounds, base) => {
          const s = new LeastInflight<Fake>();
          const workers = fleet(new Array(n).fill(3));
          s.rebuild(workers);
          // Every worker equally loaded; each attempt ends before the next pick.
          for (const w of workers) for (let k = 0; k < base; k++) take(s, w);
          const picked: Fake[] = [];
          for (let i = 0; i < n * rounds; i++) {
            const w = s.pick(hasRoom, undefined)!;
            picked.push(w);
            take(s, w);
            give(s, w);
          }
          const c = counts(picked);
          for (const w of workers) expect(c.get(w)).toBe(rounds);
          // And in a rotation: no worker twice within any n consecutive picks.
          for (let i = 0; i + n <= picked.length; i++) {
            expect(new Set(picked.slice(i, i + n)).size).toBe(n);
          }
        },
      ),
    );
  });

  it('does not favour a worker whose attempt just ended over ones tied with it', () => {
    const s = new LeastInflight<Fake>();
    const [a, b, c] = fleet([1, 1, 1]) as [Fake, Fake, Fake];
    s.rebuild([a, b, c]);
    // a takes a turn and finishes at once: b and c, idle all along, come first.
    const first = s.pick(hasRoom, undefined)!;
    take(s, first);
    give(s, first);
    const next = pickN(s, 2);
    expect(new Set(next)).toEqual(new Set([a, b, c].filter((w) => w !== first)));
  });

  it('respects weights under load: in flight settles in proportion to weight', () => {
    fc.assert(
      fc.property(weightsArb, (weights) => {
        const s = new LeastInflight<Fake>();
        const workers = fleet(weights);
        s.rebuild(workers);
        const total = weights.reduce((a, b) => a + b, 0);
        // Fill to 10 attempts per unit of weight, none ending.
        for (let i = 0; i < total * 10; i++) take(s, s.pick(hasRoom, undefined)!);
        for (const w of workers) expect(w.inflight).toBe(w.weight * 10);
      }),
    );
  });

  it('sends new work to the worker that drains fastest', () => {
    const s = new LeastInflight<Fake>();
    const [fast, slow] = fleet([1, 1]) as [Fake, Fake];
    s.rebuild([fast, slow]);
    // The slow worker finishes one attempt in five, the fast one all of its.
    const picked: Fake[] = [];
    for (let round = 0; round < 1_000; round++) {
      const w = s.pick(hasRoom, undefined)!;
      take(s, w);
      picked.push(w);
      if (fast.inflight > 0) give(s, fast);
      if (round % 5 === 0 && slow.inflight > 0) give(s, slow);
    }
    const c = counts(picked);
    // Its share follows its drain rate: one in five rounds (a ring would give it half).
    expect(c.get(slow)).toBeGreaterThanOrEqual(199);
    expect(c.get(slow)).toBeLessThanOrEqual(201);
    expect(slow.inflight).toBeLessThanOrEqual(1);
  });

  it('is O(1) while the least loaded worker accepts: one filter call per pick', () => {
    const s = new LeastInflight<Fake>();
    s.rebuild(fleet([1, 2, 3, 4, 5, 6, 7, 8]));
    let calls = 0;
    for (let i = 0; i < 1_000; i++) {
      const w = s.pick(() => {
        calls++;
        return true;
      }, undefined)!;
      take(s, w);
    }
    expect(calls).toBe(1_000);
  });
});
