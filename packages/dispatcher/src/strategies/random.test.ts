import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyChange,
  changeArb,
  counts,
  type Fake,
  fleet,
  pickN,
  seeded,
  sum,
  weightsArb,
  withinSigmas,
} from '../testing/strategy-fixture.js';
import { AliasTable } from './alias-table.js';
import { WeightedRandom } from './random.js';

const PICKS = 100_000;

describe('alias table', () => {
  it('gives every index exactly its weight share of the unit interval', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 1, maxLength: 40 }),
        (weights) => {
          const table = new AliasTable();
          table.rebuild(weights);
          // Sweep u over a fine grid; each column's mass is exact, so the grid's shares are too.
          const n = weights.length;
          const steps = n * 2_000;
          const hits = new Array<number>(n).fill(0);
          for (let k = 0; k < steps; k++) hits[table.draw((k + 0.5) / steps)]!++;
          const total = sum(weights);
          weights.forEach((w, i) => {
            expect(Math.abs(hits[i]! / steps - w / total)).toBeLessThanOrEqual(1 / 2_000 + 1e-9);
          });
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('random (weighted)', () => {
  it('over 100k picks, each worker gets its weight share within statistical bounds (5σ)', () => {
    fc.assert(
      fc.property(weightsArb, fc.integer({ min: 1, max: 2 ** 31 - 1 }), (weights, seed) => {
        const s = new WeightedRandom<Fake>(seeded(seed));
        const workers = fleet(weights);
        s.rebuild(workers);
        const c = counts(pickN(s, PICKS));
        const total = sum(weights);
        for (const w of workers) {
          expect(withinSigmas(c.get(w) ?? 0, PICKS, w.weight / total)).toBe(true);
        }
      }),
      { numRuns: 15 },
    );
  });

  it('after membership changes, shares follow the new weights', () => {
    fc.assert(
      fc.property(
        weightsArb,
        fc.array(changeArb, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        (weights, changes, seed) => {
          const s = new WeightedRandom<Fake>(seeded(seed));
          let workers = fleet(weights);
          s.rebuild(workers);
          for (const change of changes) {
            pickN(s, 100);
            workers = applyChange(workers, change);
            s.rebuild(workers);
          }
          const c = counts(pickN(s, PICKS));
          const total = sum(workers.map((w) => w.weight));
          for (const w of workers) {
            expect(withinSigmas(c.get(w) ?? 0, PICKS, w.weight / total)).toBe(true);
          }
        },
      ),
      { numRuns: 10 },
    );
  });

  it('with workers rejected, the accepted ones share by weight (within 5σ over 100k picks)', () => {
    fc.assert(
      fc.property(
        weightsArb.chain((w) =>
          fc.tuple(
            fc.constant(w),
            fc.array(fc.boolean(), { minLength: w.length, maxLength: w.length }),
          ),
        ),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        ([weights, flags], seed) => {
          const s = new WeightedRandom<Fake>(seeded(seed));
          const workers = fleet(weights);
          s.rebuild(workers);
          const ok = new Set(workers.filter((_, i) => flags[i]));
          if (ok.size === 0) return;
          const c = counts(pickN(s, PICKS, (w) => ok.has(w)));
          const total = sum([...ok].map((w) => w.weight));
          for (const w of workers) {
            if (!ok.has(w)) expect(c.get(w)).toBeUndefined();
            else expect(withinSigmas(c.get(w) ?? 0, PICKS, w.weight / total)).toBe(true);
          }
        },
      ),
      { numRuns: 10 },
    );
  });

  it('picks independently: consecutive picks are uncorrelated (equal weights)', () => {
    const s = new WeightedRandom<Fake>(seeded(7));
    const workers = fleet([1, 1, 1, 1]);
    s.rebuild(workers);
    const picks = pickN(s, PICKS);
    let same = 0;
    for (let i = 1; i < picks.length; i++) if (picks[i] === picks[i - 1]) same++;
    // A ring would never repeat; independent picks repeat a quarter of the time.
    expect(withinSigmas(same, PICKS - 1, 0.25)).toBe(true);
  });

  it('uses Math.random when given no source, read at each pick (the simulator replaces it)', () => {
    const s = new WeightedRandom<Fake>();
    const workers = fleet([1, 1]);
    s.rebuild(workers);
    const saved = Math.random;
    try {
      Math.random = () => 0.1;
      expect(pickN(s, 10)).toEqual(new Array(10).fill(workers[0]));
      Math.random = () => 0.9;
      expect(pickN(s, 10)).toEqual(new Array(10).fill(workers[1]));
    } finally {
      Math.random = saved;
    }
  });
});
