import { describe, expect, it } from 'vitest';
import { FAULT_KINDS, planFaults } from './faults.js';
import { Random } from './random.js';

describe('planFaults', () => {
  it('is the same for the same seed, in time order, inside the window', () => {
    const plan = { windowMs: 60_000, processes: 4, perSecond: 0.5 };
    const a = planFaults(new Random(9), plan);
    const b = planFaults(new Random(9), plan);
    expect(a).toEqual(b);
    expect(a.length).toBeGreaterThan(0);
    for (let i = 1; i < a.length; i++) expect(a[i]!.at).toBeGreaterThanOrEqual(a[i - 1]!.at);
    for (const f of a) {
      expect(f.at).toBeLessThan(60_000);
      expect(f.target).toBeLessThan(4);
    }
  });

  it('uses only the kinds it is given, and every kind over many seeds', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 200; seed++) {
      for (const f of planFaults(new Random(seed), {
        windowMs: 20_000,
        processes: 3,
        perSecond: 1,
      })) {
        seen.add(f.kind);
      }
    }
    expect([...seen].sort()).toEqual([...FAULT_KINDS].sort());
    const only = planFaults(new Random(1), {
      windowMs: 20_000,
      processes: 3,
      perSecond: 2,
      kinds: ['redis-stall'],
    });
    expect(new Set(only.map((f) => f.kind))).toEqual(new Set(['redis-stall']));
  });

  it('plans nothing at rate 0', () => {
    expect(planFaults(new Random(1), { windowMs: 10_000, processes: 2, perSecond: 0 })).toEqual([]);
  });
});
