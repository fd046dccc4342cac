import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyChange,
  changeArb,
  counts,
  type Fake,
  fleet,
  hasRoom,
  pickN,
  sum,
  weightsArb,
} from '../testing/strategy-fixture.js';
import { LATENCY_MAX_SLOWDOWN, LATENCY_SMOOTHING, Latency } from './latency.js';

/**
 * `picks` picks, each answered at once with the round trip `rtt(worker)`
 * returns; the picks of the last `window` are returned.
 */
function run(s: Latency<Fake>, picks: number, rtt: (w: Fake) => number, window = picks): Fake[] {
  const out: Fake[] = [];
  for (let i = 0; i < picks; i++) {
    const w = s.pick(hasRoom, undefined)!;
    s.observe(w, rtt(w));
    if (i >= picks - window) out.push(w);
  }
  return out;
}

function shareOf(picks: readonly Fake[], w: Fake): number {
  return (counts(picks).get(w) ?? 0) / picks.length;
}

describe('latency', () => {
  it('documents its smoothing factor and probing floor', () => {
    expect(LATENCY_SMOOTHING).toBe(0.2);
    expect(LATENCY_MAX_SLOWDOWN).toBe(16);
  });

  it('before any round trip, follows the weights exactly: every W picks give each worker its weight', () => {
    fc.assert(
      fc.property(weightsArb, fc.integer({ min: 1, max: 4 }), (weights, cycles) => {
        const s = new Latency<Fake>();
        const workers = fleet(weights);
        s.rebuild(workers);
        const c = counts(pickN(s, sum(weights) * cycles));
        for (const w of workers) expect(c.get(w)).toBe(w.weight * cycles);
      }),
    );
  });

  it('with equal round trips everywhere, still follows the weights exactly', () => {
    fc.assert(
      fc.property(weightsArb, fc.integer({ min: 1, max: 50 }), (weights, ms) => {
        const s = new Latency<Fake>();
        const workers = fleet(weights);
        s.rebuild(workers);
        run(s, 100, () => ms);
        const picks = run(s, sum(weights) * 3, () => ms);
        const c = counts(picks);
        for (const w of workers) {
          expect(Math.abs((c.get(w) ?? 0) - w.weight * 3)).toBeLessThanOrEqual(1);
        }
      }),
    );
  });

  it('shifts share away from a worker whose round trips slow down, and back when they recover', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 2, maxLength: 6 }),
        fc.nat(),
        fc.integer({ min: 2, max: 12 }),
        (weights, at, factor) => {
          const s = new Latency<Fake>();
          const workers = fleet(weights);
          s.rebuild(workers);
          const slow = workers[at % workers.length]!;
          const total = sum(weights);
          const weightShare = slow.weight / total;
          const base = 10;
          const fast = run(s, 4_000, () => base, 2_000);
          expect(shareOf(fast, slow)).toBeCloseTo(weightShare, 2);
          // Slow: its effective weight falls by its slowdown against the fleet's average.
          let slowed = false;
          const during = run(s, 8_000, (w) => (w === slow && slowed ? base * factor : base), 3_000);
          slowed = true;
          const settled = run(s, 8_000, (w) => (w === slow ? base * factor : base), 3_000);
          expect(during.length).toBe(3_000);
          // Shares in inverse proportion to round trips, within weights.
          const expected = slow.weight / factor / (total - slow.weight + slow.weight / factor);
          const measured = shareOf(settled, slow);
          // Moved off its weight share, more than half-way to where its round trips put it.
          expect(measured).toBeLessThan((weightShare + expected) / 2);
          expect(Math.abs(measured - expected)).toBeLessThanOrEqual(0.15 * expected + 0.002);
          // Recovered: its round trips are fast again, and so is its share.
          const back = run(s, 8_000, () => base, 3_000);
          expect(Math.abs(shareOf(back, slow) - weightShare)).toBeLessThanOrEqual(
            0.03 * weightShare + 0.002,
          );
          expect(s.averageOf(slow)).toBeCloseTo(base, 3);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('keeps probing a worker however slow it got: at least 1/16 of its weight’s turns', () => {
    const s = new Latency<Fake>();
    const workers = fleet([1, 1, 1, 1]);
    s.rebuild(workers);
    const stuck = workers[0]!;
    const picks = run(s, 20_000, (w) => (w === stuck ? 60_000 : 5), 10_000);
    // It keeps (1/16) / (3 + 1/16) of the turns, counted at most 16× slower than typical — a little
    // less right after one of its results, which reads the typical round trip up to 1 / (1 − α) high.
    const share = shareOf(picks, stuck);
    const floor = 1 / LATENCY_MAX_SLOWDOWN / (3 + 1 / LATENCY_MAX_SLOWDOWN);
    expect(share).toBeGreaterThanOrEqual(floor * (1 - LATENCY_SMOOTHING));
    expect(share).toBeLessThan(0.25 / 4);
    // And it recovers from that depth once it answers fast.
    const back = run(s, 6_000, () => 5, 2_000);
    expect(shareOf(back, stuck)).toBeCloseTo(0.25, 2);
  });

  it('gives an overloaded worker less as its queue lengthens its round trips', () => {
    // Round trip = service time × (1 + what it already holds): queueing, as on a busy worker.
    const s = new Latency<Fake>();
    const [small, big] = fleet([1, 1]) as [Fake, Fake];
    s.rebuild([small, big]);
    const held = new Map<Fake, number>([
      [small, 0],
      [big, 0],
    ]);
    const picks: Fake[] = [];
    for (let i = 0; i < 20_000; i++) {
      const w = s.pick(hasRoom, undefined)!;
      picks.push(w);
      held.set(w, held.get(w)! + 1);
      // The small one serves one task per 4 picks, the big one three.
      if (i % 4 === 0) held.set(small, Math.max(0, held.get(small)! - 1));
      held.set(big, Math.max(0, held.get(big)! - (i % 4 === 0 ? 0 : 1)));
      s.observe(w, 10 * (1 + held.get(w)!));
    }
    expect(shareOf(picks.slice(10_000), small)).toBeLessThan(0.4);
  });

  it('keeps what it learned of a worker across membership changes, and starts new ones at their weight', () => {
    fc.assert(
      fc.property(weightsArb, fc.array(changeArb, { maxLength: 5 }), (weights, changes) => {
        const s = new Latency<Fake>();
        let workers = fleet(weights);
        s.rebuild(workers);
        const first = workers[0]!;
        run(s, 500, (w) => (w === first ? 40 : 10));
        const learned = s.averageOf(first);
        for (const change of changes) {
          const next = applyChange(workers, change);
          if (!next.includes(first)) continue;
          workers = next;
          s.rebuild(workers);
          expect(s.averageOf(first)).toBe(learned);
          for (const w of workers) {
            if (w.id.startsWith('n') || w.id.startsWith('r'))
              expect(s.averageOf(w)).toBeUndefined();
          }
        }
      }),
    );
  });

  it('ignores round trips of workers it does not know, and nonsense ones', () => {
    const s = new Latency<Fake>();
    const workers = fleet([1, 1]);
    s.rebuild(workers);
    s.observe(fleet([1])[0]!, 5);
    s.observe(workers[0]!, Number.NaN);
    s.observe(workers[0]!, -3);
    expect(s.averageOf(workers[0]!)).toBeUndefined();
    // Below the clock's resolution a round trip counts as 1 ms, never 0 (which would weigh infinitely).
    s.observe(workers[0]!, 0);
    expect(s.averageOf(workers[0]!)).toBe(1);
  });
});
