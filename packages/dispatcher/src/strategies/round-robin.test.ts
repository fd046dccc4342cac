import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyChange,
  changeArb,
  counts,
  type Fake,
  fleet,
  pickN,
  weightsArb,
} from '../testing/strategy-fixture.js';
import { RoundRobin } from './round-robin.js';

describe('round-robin', () => {
  it('gives every worker exactly one turn in any n consecutive picks, whatever the weights', () => {
    fc.assert(
      fc.property(weightsArb, fc.nat({ max: 100 }), (weights, offset) => {
        const s = new RoundRobin<Fake>();
        const workers = fleet(weights);
        s.rebuild(workers);
        pickN(s, offset);
        const c = counts(pickN(s, workers.length * 3));
        for (const w of workers) expect(c.get(w)).toBe(3);
      }),
    );
  });

  it('keeps equal turns across membership changes: n picks after each change, one each', () => {
    fc.assert(
      fc.property(
        weightsArb,
        fc.array(fc.tuple(changeArb, fc.nat({ max: 20 })), { maxLength: 10 }),
        (weights, changes) => {
          const s = new RoundRobin<Fake>();
          let workers = fleet(weights);
          s.rebuild(workers);
          for (const [change, picks] of changes) {
            pickN(s, picks);
            workers = applyChange(workers, change);
            s.rebuild(workers);
            const c = counts(pickN(s, workers.length));
            for (const w of workers) expect(c.get(w)).toBe(1);
          }
        },
      ),
    );
  });

  it('skips rejected workers and shares turns equally among the rest', () => {
    fc.assert(
      fc.property(
        weightsArb.chain((w) =>
          fc.tuple(
            fc.constant(w),
            fc.array(fc.boolean(), { minLength: w.length, maxLength: w.length }),
          ),
        ),
        ([weights, accepted]) => {
          const s = new RoundRobin<Fake>();
          const workers = fleet(weights);
          s.rebuild(workers);
          const ok = new Set(workers.filter((_, i) => accepted[i]));
          if (ok.size === 0) {
            expect(s.pick((w) => ok.has(w), undefined)).toBeUndefined();
            return;
          }
          let calls = 0;
          const c = counts(
            pickN(s, ok.size * 4, (w) => {
              calls++;
              return ok.has(w);
            }),
          );
          for (const w of workers) expect(c.get(w) ?? 0).toBe(ok.has(w) ? 4 : 0);
          // One walk round the membership per turn of every accepted worker, no more.
          expect(calls).toBeLessThanOrEqual(workers.length * 4 + workers.length);
        },
      ),
    );
  });

  it('is O(1) with every worker accepting: one filter call per pick', () => {
    const s = new RoundRobin<Fake>();
    s.rebuild(fleet([1, 5, 2, 9]));
    let calls = 0;
    pickN(s, 1_000, () => {
      calls++;
      return true;
    });
    expect(calls).toBe(1_000);
  });
});
