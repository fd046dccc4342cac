import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  counts,
  type Fake,
  fleet,
  give,
  hasRoom,
  pickN,
  seeded,
  sum,
  take,
  weightsArb,
  withinSigmas,
} from '../testing/strategy-fixture.js';
import { PowerOfTwo } from './power-of-two.js';
import { WeightedRandom } from './random.js';

const seedArb = fc.integer({ min: 1, max: 2 ** 31 - 1 });

describe('power-of-two', () => {
  it('never picks a worker at capacity while another has room, through random loads', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 24 }),
        fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 24, maxLength: 24 }),
        fc.array(fc.oneof(fc.constant('pick' as const), fc.nat()), { maxLength: 300 }),
        seedArb,
        (weights, capacities, ops, seed) => {
          const s = new PowerOfTwo<Fake>(seeded(seed));
          const workers = fleet(weights);
          workers.forEach((w, i) => {
            w.capacity = capacities[i]!;
          });
          s.rebuild(workers);
          for (const op of ops) {
            if (op === 'pick') {
              const picked = s.pick(hasRoom, undefined);
              const room = workers.some((w) => w.inflight < w.capacity);
              if (!room) expect(picked).toBeUndefined();
              else {
                expect(picked!.inflight).toBeLessThan(picked!.capacity);
                take(s, picked!);
              }
            } else {
              const busy = workers.filter((w) => w.inflight > 0);
              if (busy.length > 0) give(s, busy[op % busy.length]!);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('finds the last free worker of a large full fleet', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 200 }), fc.nat(), seedArb, (n, at, seed) => {
        const s = new PowerOfTwo<Fake>(seeded(seed));
        const workers = fleet(new Array(n).fill(1), 1);
        s.rebuild(workers);
        for (const w of workers) w.inflight = 1;
        const free = workers[at % n]!;
        free.inflight = 0;
        expect(s.pick(hasRoom, undefined)).toBe(free);
      }),
    );
  });

  it('with two workers (or one), takes the less loaded per unit of weight', () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 })),
        fc.tuple(fc.nat({ max: 30 }), fc.nat({ max: 30 })),
        seedArb,
        ([wa, wb], [la, lb], seed) => {
          const s = new PowerOfTwo<Fake>(seeded(seed));
          const [a, b] = fleet([wa, wb]) as [Fake, Fake];
          a.inflight = la;
          b.inflight = lb;
          s.rebuild([a, b]);
          const picked = s.pick(hasRoom, undefined)!;
          const other = picked === a ? b : a;
          expect(picked.inflight / picked.weight).toBeLessThanOrEqual(
            other.inflight / other.weight,
          );
        },
      ),
    );
  });

  it('without load, samples by weight: 100k picks within 5σ of the weight shares', () => {
    fc.assert(
      fc.property(weightsArb, seedArb, (weights, seed) => {
        const s = new PowerOfTwo<Fake>(seeded(seed));
        const workers = fleet(weights);
        s.rebuild(workers);
        const picks = 100_000;
        const c = counts(pickN(s, picks));
        const total = sum(weights);
        if (workers.length <= 2) return; // two workers: exact least-loaded, a tie each time
        for (const w of workers) {
          expect(withinSigmas(c.get(w) ?? 0, picks, w.weight / total)).toBe(true);
        }
      }),
      { numRuns: 10 },
    );
  });

  it('balances far better than one random choice: placing 100 per worker, none ends', () => {
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 64 }), seedArb, (n, seed) => {
        const run = (s: PowerOfTwo<Fake> | WeightedRandom<Fake>) => {
          const workers = fleet(new Array(n).fill(1));
          s.rebuild(workers);
          for (let i = 0; i < n * 100; i++) take(s, s.pick(hasRoom, undefined)!);
          return Math.max(...workers.map((w) => w.inflight)) - 100;
        };
        const two = run(new PowerOfTwo<Fake>(seeded(seed)));
        const one = run(new WeightedRandom<Fake>(seeded(seed)));
        // Two choices: the gap stays at a few (log log n); one choice: about √(2·100·ln n).
        expect(two).toBeLessThanOrEqual(4);
        expect(one).toBeGreaterThan(two);
      }),
      { numRuns: 20 },
    );
  });
});
