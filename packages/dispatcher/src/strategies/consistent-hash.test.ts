import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  acceptAll,
  counts,
  type Fake,
  fake,
  fleet,
  give,
  hasRoom,
  pickN,
  sum,
  take,
  weightsArb,
} from '../testing/strategy-fixture.js';
import { ConsistentHash } from './consistent-hash.js';

const EPSILON = 0.25;
const KEYS = Array.from({ length: 10_000 }, (_, i) => `key-${i}`);

function ring(workers: readonly Fake[], epsilon = EPSILON): ConsistentHash<Fake> {
  const s = new ConsistentHash<Fake>(epsilon);
  s.rebuild(workers);
  return s;
}

/** Where each key goes with nothing in flight. */
function placement(s: ConsistentHash<Fake>, keys = KEYS): Map<string, Fake> {
  const out = new Map<string, Fake>();
  for (const key of keys) out.set(key, s.pick(acceptAll, undefined, key)!);
  return out;
}

function moved(before: Map<string, Fake>, after: Map<string, Fake>): string[] {
  return [...before.keys()].filter((k) => before.get(k)!.id !== after.get(k)!.id);
}

/** The documented scale: the heaviest worker gets between 512 and 1,024 virtual nodes. */
function pointsOf(weights: readonly number[]): number[] {
  const scale = 2 ** Math.floor(Math.log2(1024 / Math.max(...weights)));
  return weights.map((w) => Math.max(1, Math.round(w * scale)));
}

const equalFleetArb = fc.integer({ min: 2, max: 12 });

describe('consistent-hash: placement', () => {
  it('sends a key to the same worker every time while membership is stable, in any dispatcher', () => {
    fc.assert(
      fc.property(
        weightsArb,
        fc.array(fc.string({ minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 50 }),
        (weights, keys) => {
          const workers = fleet(weights);
          const s = ring(workers);
          const first = placement(s, keys);
          // Other keys in between change nothing.
          pickN(s, 100, acceptAll, 'another key');
          expect(placement(s, keys)).toEqual(first);
          // Another dispatcher seeing the workers in another order builds the same ring.
          const other = ring([...workers].reverse());
          expect(placement(other, keys)).toEqual(first);
        },
      ),
    );
  });

  it('when one of n equal workers leaves, moves at most 1/n + 5 % of 10,000 keys, all of them its own', () => {
    fc.assert(
      fc.property(equalFleetArb, fc.nat(), (n, at) => {
        const workers = fleet(new Array(n).fill(16));
        const before = placement(ring(workers));
        const gone = workers[at % n]!;
        const after = placement(ring(workers.filter((w) => w !== gone)));
        const keys = moved(before, after);
        expect(keys.length).toBeLessThanOrEqual((1 / n + 0.05) * KEYS.length);
        for (const k of keys) expect(before.get(k)).toBe(gone);
        // Exactly its keys: it had some, and every one of them moved.
        expect(keys.length).toBe([...before.values()].filter((w) => w === gone).length);
      }),
      { numRuns: 30 },
    );
  });

  it('when a worker joins n − 1 equal ones, moves at most 1/n + 5 % of 10,000 keys, all to it', () => {
    fc.assert(
      fc.property(equalFleetArb, (n) => {
        const workers = fleet(new Array(n - 1).fill(16));
        const before = placement(ring(workers));
        const joined = fake('joined', 16);
        const after = placement(ring([...workers, joined]));
        const keys = moved(before, after);
        expect(keys.length).toBeGreaterThan(0);
        expect(keys.length).toBeLessThanOrEqual((1 / n + 0.05) * KEYS.length);
        for (const k of keys) expect(after.get(k)).toBe(joined);
      }),
      { numRuns: 30 },
    );
  });

  it('with random weights, a join or leave moves only the changed worker’s keys, about its weight share', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 2, maxLength: 8 }),
        fc.nat(),
        fc.integer({ min: 1, max: 20 }),
        (weights, at, extra) => {
          const workers = fleet(weights);
          const heaviest = Math.max(...weights);
          const before = placement(ring(workers));
          // Leave: any worker but a sole heaviest (that would rescale the ring; see the class comment).
          const gone = workers[at % workers.length]!;
          if (gone.weight < heaviest || weights.filter((w) => w === heaviest).length > 1) {
            const after = placement(ring(workers.filter((w) => w !== gone)));
            const keys = moved(before, after);
            for (const k of keys) expect(before.get(k)).toBe(gone);
            expect(keys.length).toBeLessThanOrEqual(
              (gone.weight / sum(weights) + 0.05) * KEYS.length,
            );
          }
          // Join: at most as heavy as the heaviest.
          const joined = fake('joined', Math.min(extra, heaviest));
          const after = placement(ring([...workers, joined]));
          const keys = moved(before, after);
          for (const k of keys) expect(after.get(k)).toBe(joined);
          const share = joined.weight / (sum(weights) + joined.weight);
          expect(keys.length).toBeLessThanOrEqual((share + 0.05) * KEYS.length);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('respects weights: each worker’s share of keys is its weight share, within the ring’s statistical bound', () => {
    const keys = Array.from({ length: 100_000 }, (_, i) => `user:${i}`);
    fc.assert(
      fc.property(weightsArb, (weights) => {
        const workers = fleet(weights);
        const s = ring(workers);
        const points = pointsOf(weights);
        const total = sum(points);
        expect(s.size).toBe(total);
        const c = counts(placement(s, keys).values());
        workers.forEach((w, i) => {
          const share = (c.get(w) ?? 0) / keys.length;
          const expected = w.weight / sum(weights);
          // Virtual nodes are in proportion to weight, up to rounding of one node…
          expect(Math.abs(points[i]! / total - expected)).toBeLessThanOrEqual(0.5 / total + 1e-12);
          // …and a worker with p of P nodes owns p/P of the ring ± √p/P per σ; 5σ, plus key sampling.
          const sigma = Math.sqrt(points[i]!) / total + Math.sqrt(expected / keys.length);
          expect(Math.abs(share - expected)).toBeLessThanOrEqual(5 * sigma + 0.5 / total);
        });
      }),
      { numRuns: 25 },
    );
  });

  it('keeps the ring bounded: the heaviest worker has 513 to 1,024 nodes, a huge fleet at most 2¹⁸ in all', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 1, maxLength: 8 }),
        (weights) => {
          const s = ring(fleet(weights));
          const points = pointsOf(weights);
          expect(s.size).toBe(sum(points));
          expect(Math.max(...points)).toBeGreaterThan(512);
          expect(Math.max(...points)).toBeLessThanOrEqual(1_024);
          // Every worker is on the ring, however light.
          expect(Math.min(...points)).toBeGreaterThanOrEqual(1);
        },
      ),
      { numRuns: 50 },
    );
    const huge = ring(fleet(new Array(1_000).fill(100)));
    expect(huge.size).toBeLessThanOrEqual(2 ** 18);
    expect(huge.size).toBeGreaterThan(2 ** 17);
  });

  it('passes a rejected worker’s keys to their next choice, and moves no other key', () => {
    fc.assert(
      fc.property(weightsArb, fc.nat(), (weights, at) => {
        if (weights.length < 2) return;
        const workers = fleet(weights);
        const s = ring(workers);
        const keys = KEYS.slice(0, 2_000);
        const before = placement(s, keys);
        const down = workers[at % workers.length]!;
        down.down = true;
        const during = new Map(keys.map((k) => [k, s.pick(hasRoom, undefined, k)!]));
        for (const k of keys) {
          if (before.get(k) !== down) expect(during.get(k)).toBe(before.get(k));
          else expect(during.get(k)).not.toBe(down);
        }
        // The same next choice every time: a key's walk is fixed.
        expect(new Map(keys.map((k) => [k, s.pick(hasRoom, undefined, k)!]))).toEqual(during);
        down.down = false;
        expect(placement(s, keys)).toEqual(before);
      }),
      { numRuns: 20 },
    );
  });

  it('sends tasks without a key round the smooth weighted ring: exact shares per cycle', () => {
    fc.assert(
      fc.property(weightsArb, (weights) => {
        const s = ring(fleet(weights));
        const c = counts(pickN(s, sum(weights) * 2));
        const workers = [...c.keys()];
        for (const w of workers) expect(c.get(w)).toBe(w.weight * 2);
      }),
    );
  });

  it('costs one filter call per pick while the key’s worker accepts and is under its bound', () => {
    const s = ring(fleet([3, 1, 4, 1, 5, 9, 2, 6]));
    let calls = 0;
    for (const key of KEYS.slice(0, 1_000)) {
      s.pick(
        () => {
          calls++;
          return true;
        },
        undefined,
        key,
      );
    }
    expect(calls).toBe(1_000);
  });
});

describe('consistent-hash: bounded loads', () => {
  /** ⌈(1 + ε) × m × w / W⌉: what a worker may hold with m attempts in flight. */
  const bound = (m: number, w: number, total: number, epsilon = EPSILON) =>
    Math.ceil(((1 + epsilon) * m * w) / total - 1e-9);

  it('a hot key cannot swamp a worker: every worker stays within (1 + ε) × its fair share', () => {
    fc.assert(
      fc.property(weightsArb, fc.integer({ min: 10, max: 400 }), (weights, tasks) => {
        const workers = fleet(weights);
        const s = ring(workers);
        const total = sum(weights);
        for (let m = 1; m <= tasks; m++) {
          take(s, s.pick(hasRoom, undefined, 'the-hot-key')!);
          for (const w of workers)
            expect(w.inflight).toBeLessThanOrEqual(bound(m, w.weight, total));
        }
        if (workers.length > 1) {
          // It did spill: the key's own worker holds no more than its bound.
          const hot = ring(workers).pick(acceptAll, undefined, 'the-hot-key')!;
          expect(hot.inflight).toBeLessThanOrEqual(bound(tasks, hot.weight, total));
        }
      }),
    );
  });

  it('without the bound (ε = ∞), the hot key goes all to one worker', () => {
    const workers = fleet([1, 1, 1, 1]);
    const s = ring(workers, Number.POSITIVE_INFINITY);
    for (let i = 0; i < 200; i++) take(s, s.pick(hasRoom, undefined, 'the-hot-key')!);
    expect(Math.max(...workers.map((w) => w.inflight))).toBe(200);
  });

  it('under a mix of hot and cold keys with attempts ending, each pick lands within its worker’s bound', () => {
    fc.assert(
      fc.property(
        weightsArb,
        fc.array(
          fc.oneof(
            { weight: 6, arbitrary: fc.constant('hot' as const) },
            { weight: 3, arbitrary: fc.nat({ max: 10_000 }) },
            { weight: 4, arbitrary: fc.constant('end' as const) },
          ),
          { maxLength: 400 },
        ),
        fc.nat(),
        (weights, ops, pickEnd) => {
          const workers = fleet(weights);
          const s = ring(workers);
          const total = sum(weights);
          let m = 0;
          let e = pickEnd;
          for (const op of ops) {
            if (op === 'end') {
              const busy = workers.filter((w) => w.inflight > 0);
              if (busy.length === 0) continue;
              give(s, busy[e++ % busy.length]!);
              m--;
              continue;
            }
            const w = s.pick(hasRoom, undefined, op === 'hot' ? 'hot' : `k${op}`)!;
            take(s, w);
            m++;
            expect(w.inflight).toBeLessThanOrEqual(bound(m, w.weight, total));
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('when every worker the filter accepts is over its bound, the first of them still takes the task', () => {
    const workers = fleet([1, 1, 1]);
    const s = ring(workers);
    const [a, b, c] = workers as [Fake, Fake, Fake];
    for (let i = 0; i < 10; i++) take(s, a);
    b.down = true;
    c.down = true;
    expect(s.pick(hasRoom, undefined, 'any')).toBe(a);
  });

  it('counts only what is in flight on its own workers', () => {
    const workers = fleet([1, 1]);
    const s = ring(workers);
    const stranger = fake('not-on-the-ring');
    // A worker off the ring (gone) reporting load changes nothing.
    for (let i = 0; i < 50; i++) s.loadChanged(stranger, 1);
    const a = s.pick(hasRoom, undefined, 'k')!;
    take(s, a);
    // With m = 1 and two equal workers the bound is ⌈1.25 × 2 × ½⌉ = 2: a second one still fits.
    expect(s.pick(hasRoom, undefined, 'k')).toBe(a);
    take(s, a);
    expect(s.pick(hasRoom, undefined, 'k')).not.toBe(a);
    give(s, a);
    give(s, a);
  });
});
