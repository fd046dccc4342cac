import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildSequence, WeightedRoundRobin as Ring } from './weighted-round-robin.js';

interface Member {
  readonly name: string;
  readonly weight: number;
}

const RUNS = { numRuns: 150 };

function members(weights: readonly number[]): Member[] {
  return weights.map((weight, i) => ({ name: String.fromCharCode(97 + i), weight }));
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Weights reduced by their gcd: the share each member gets in one full cycle. */
function reduced(weights: readonly number[]): number[] {
  const g = weights.reduce(gcd);
  return weights.map((w) => w / g);
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function counts<T>(items: readonly T[]): Map<T, number> {
  const out = new Map<T, number>();
  for (const item of items) out.set(item, (out.get(item) ?? 0) + 1);
  return out;
}

function ringOf(ms: readonly Member[]): Ring<Member> {
  const ring = new Ring<Member>();
  ring.rebuild(ms);
  return ring;
}

function pickN(ring: Ring<Member>, n: number, accept: (m: Member) => boolean = () => true) {
  const out: Member[] = [];
  for (let i = 0; i < n; i++) {
    const m = ring.pick(accept);
    if (m === undefined) throw new Error('pick returned undefined');
    out.push(m);
  }
  return out;
}

const weightsArb = fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 8 });

describe('buildSequence', () => {
  it('is empty for no members', () => {
    expect(buildSequence([])).toEqual([]);
    const ring = new Ring<Member>();
    expect(ring.cycleLength).toBe(0);
    expect(ring.pick(() => true)).toBeUndefined();
  });

  it('has length sum(w)/gcd and gives every member exactly w/gcd slots', () => {
    fc.assert(
      fc.property(weightsArb, (weights) => {
        const ms = members(weights);
        const shares = reduced(weights);
        const seq = buildSequence(ms);
        expect(seq.length).toBe(sum(weights) / weights.reduce(gcd));
        const c = counts(seq);
        expect(ms.map((m) => c.get(m))).toEqual(shares);
      }),
      RUNS,
    );
  });

  it("matches nginx's documented example for weights {5, 1, 1}: a a b a c a a", () => {
    const ms = members([5, 1, 1]);
    expect(buildSequence(ms).map((m) => m.name)).toEqual(['a', 'a', 'b', 'a', 'c', 'a', 'a']);
  });

  it('is smooth: every prefix stays within the smooth-WRR bounds of each share', () => {
    // Smooth WRR keeps current_i = k*w_i - W*n_i(k) in (-W, (m-1)W), hence
    //   k*w_i/W - (m-1) < n_i(k) <= ceil(k*w_i/W).
    fc.assert(
      fc.property(weightsArb, (weights) => {
        const ms = members(weights);
        const shares = reduced(weights);
        const total = sum(shares);
        const seq = buildSequence(ms);
        const seen = new Array<number>(ms.length).fill(0);
        const violations: string[] = [];
        for (let k = 1; k <= seq.length; k++) {
          seen[ms.indexOf(seq[k - 1]!)]!++;
          for (let i = 0; i < ms.length; i++) {
            const n = seen[i]!;
            const ideal = (k * shares[i]!) / total;
            // (With a single member the lower bound degenerates to n = k.)
            const low = ms.length === 1 ? n === k : n > ideal - (ms.length - 1);
            if (n > Math.ceil(ideal - 1e-9) || !low) violations.push(`k=${k} i=${i} n=${n}`);
          }
        }
        expect(violations).toEqual([]);
      }),
      RUNS,
    );
  });

  it('interleaves a heavy member with light ones rather than bursting', () => {
    const ms = members([3, 3, 1]);
    const names = buildSequence(ms).map((m) => m.name);
    // No member appears twice in a row when its share is below half.
    for (let i = 1; i < names.length; i++) expect(names[i]).not.toBe(names[i - 1]);
    // Equal weights: plain round-robin.
    const eq = members([2, 2, 2]);
    expect(buildSequence(eq).map((m) => m.name)).toEqual(['a', 'b', 'c']);
  });

  it('treats non-integer or sub-1 weights as floor(w), at least 1', () => {
    const ms = [
      { name: 'a', weight: 2.9 },
      { name: 'b', weight: 0 },
      { name: 'c', weight: -3 },
    ];
    const c = counts(buildSequence(ms));
    expect(c.get(ms[0]!)).toBe(2);
    expect(c.get(ms[1]!)).toBe(1);
    expect(c.get(ms[2]!)).toBe(1);
  });

  it('scales huge weights so the cycle stays near 10,000 and every member still appears', () => {
    const ms = members([1_000_000, 1]);
    const seq = buildSequence(ms);
    const c = counts(seq);
    expect(c.get(ms[1]!)).toBeGreaterThanOrEqual(1);
    expect(c.get(ms[0]!)!).toBeGreaterThan(9_990);
    // Actual bound: each scaled share is rounded and floored at 1, so the cycle can exceed
    // 10,000 by up to one slot per member (here 10,000 + 1 = 10,001).
    expect(seq.length).toBeLessThanOrEqual(10_000 + ms.length);
  });

  it('scaled cycles keep every member and each share within rounding of its weight', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 20_000, max: 1_000_000 }),
        (weights, big) => {
          const all = [big, ...weights];
          const ms = members(all);
          const seq = buildSequence(ms);
          const c = counts(seq);
          const shares = reduced(all);
          const total = sum(shares);
          expect(seq.length).toBeLessThanOrEqual(Math.max(total, 10_000 + ms.length));
          const scale = total > 10_000 ? 10_000 / total : 1;
          ms.forEach((m, i) => {
            const got = c.get(m) ?? 0;
            expect(got).toBeGreaterThanOrEqual(1);
            expect(Math.abs(got - Math.max(1, shares[i]! * scale))).toBeLessThanOrEqual(0.5 + 1e-9);
          });
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('Ring.pick', () => {
  it('any cycleLength consecutive picks, starting anywhere, give each member exactly w/gcd', () => {
    fc.assert(
      fc.property(weightsArb, fc.nat({ max: 1_000 }), (weights, offset) => {
        const ms = members(weights);
        const shares = reduced(weights);
        const ring = ringOf(ms);
        expect(ring.cycleLength).toBe(sum(shares));
        pickN(ring, offset);
        const c = counts(pickN(ring, ring.cycleLength));
        expect(ms.map((m) => c.get(m))).toEqual(shares);
      }),
      RUNS,
    );
  });

  it('after rebuild, one full cycle matches the new weights exactly', () => {
    fc.assert(
      fc.property(weightsArb, weightsArb, fc.nat({ max: 200 }), (before, after, offset) => {
        const ring = ringOf(members(before));
        pickN(ring, offset);
        const next = members(after);
        ring.rebuild(next);
        const shares = reduced(after);
        expect(ring.cycleLength).toBe(sum(shares));
        const picked = pickN(ring, ring.cycleLength);
        const c = counts(picked);
        expect(next.map((m) => c.get(m))).toEqual(shares);
        // Rebuild restarts the cycle from its beginning.
        expect(picked).toEqual(buildSequence(next));
      }),
      RUNS,
    );
  });

  it('with rejections: returns only accepted members, in proportion to their weights', () => {
    fc.assert(
      fc.property(
        weightsArb.chain((weights) =>
          fc.tuple(
            fc.constant(weights),
            fc.array(fc.boolean(), { minLength: weights.length, maxLength: weights.length }),
            fc.nat({ max: 500 }),
          ),
        ),
        ([weights, acceptedFlags, offset]) => {
          const ms = members(weights);
          const shares = reduced(weights);
          const ring = ringOf(ms);
          pickN(ring, offset);
          const accepted = new Set(ms.filter((_, i) => acceptedFlags[i]));
          let calls = 0;
          const accept = (m: Member) => {
            calls++;
            return accepted.has(m);
          };
          if (accepted.size === 0) {
            expect(ring.pick(accept)).toBeUndefined();
            // One pass over the cycle, no more.
            expect(calls).toBe(ring.cycleLength);
            return;
          }
          // Accepted slots in one cycle: S picks walk exactly one cycle's worth of them.
          const s = sum(shares.filter((_, i) => acceptedFlags[i]));
          const gap = ring.cycleLength - s; // rejected slots per cycle
          const picked: Member[] = [];
          let worstCalls = 0;
          for (let i = 0; i < s; i++) {
            const before = calls;
            const m = ring.pick(accept);
            if (m === undefined || !accepted.has(m)) throw new Error(`picked ${m?.name}`);
            worstCalls = Math.max(worstCalls, calls - before);
            picked.push(m);
          }
          // Never more than one run of rejected slots plus the hit per pick.
          expect(worstCalls).toBeLessThanOrEqual(gap + 1);
          // The walk never goes round the cycle more than once for S picks.
          expect(calls).toBeLessThanOrEqual(ring.cycleLength);
          const c = counts(picked);
          ms.forEach((m, i) => {
            // Each accepted member (even next to a full one) gets exactly its share.
            expect(c.get(m) ?? 0).toBe(acceptedFlags[i] ? shares[i] : 0);
          });
        },
      ),
      RUNS,
    );
  });

  it('a rejected (full) member never starves the others', () => {
    const ms = members([50, 1, 1]);
    const ring = ringOf(ms);
    const full = ms[0]!;
    const picked = pickN(ring, ring.cycleLength, (m) => m !== full);
    const c = counts(picked);
    expect(c.get(full)).toBeUndefined();
    expect(c.get(ms[1]!)).toBe(picked.length / 2);
    expect(c.get(ms[2]!)).toBe(picked.length / 2);
  });

  it('is O(1) amortised: with everything accepted, one accept() call per pick', () => {
    fc.assert(
      fc.property(weightsArb, fc.integer({ min: 1, max: 2_000 }), (weights, n) => {
        const ring = ringOf(members(weights));
        let calls = 0;
        pickN(ring, n, () => {
          calls++;
          return true;
        });
        expect(calls).toBe(n);
      }),
      RUNS,
    );
  });
});
