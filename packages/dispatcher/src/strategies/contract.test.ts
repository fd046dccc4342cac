// What every strategy owes the dispatcher, whatever its order: the filter's word
// is final, nothing accepting means undefined, and a lone acceptor is found.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { STRATEGY_NAMES, type Strategy, type StrategyName } from '../strategy.js';
import {
  acceptAll,
  applyChange,
  changeArb,
  type Fake,
  fleet,
  hasRoom,
  seeded,
  take,
  weightsArb,
} from '../testing/strategy-fixture.js';
import { createStrategy } from './factory.js';
import { WeightedRoundRobin } from './weighted-round-robin.js';

function make(name: StrategyName, seed = 1): Strategy<Fake> {
  return createStrategy<Fake>(name, { hashLoadEpsilon: 0.25, random: seeded(seed) });
}

describe.each(STRATEGY_NAMES)('%s', (name) => {
  it('picks nothing from an empty fleet, with or without a key', () => {
    const s = make(name);
    expect(s.pick(acceptAll, undefined)).toBeUndefined();
    s.rebuild([]);
    expect(s.pick(acceptAll, undefined)).toBeUndefined();
    expect(s.pick(acceptAll, undefined, 'k')).toBeUndefined();
  });

  it('returns undefined when the filter accepts no worker, and asks it about each one', () => {
    fc.assert(
      fc.property(weightsArb, fc.option(fc.string({ minLength: 1 })), (weights, key) => {
        const s = make(name);
        const workers = fleet(weights);
        s.rebuild(workers);
        const asked = new Set<Fake>();
        const none = (w: Fake) => {
          asked.add(w);
          return false;
        };
        expect(s.pick(none, undefined, key ?? undefined)).toBeUndefined();
        expect(asked).toEqual(new Set(workers));
      }),
      { numRuns: 60 },
    );
  });

  it('finds the one worker the filter accepts, wherever it sits, and returns nothing rejected', () => {
    fc.assert(
      fc.property(
        weightsArb,
        fc.nat(),
        fc.option(fc.string({ minLength: 1, maxLength: 20 })),
        fc.integer({ min: 1, max: 1_000 }),
        (weights, at, key, seed) => {
          const s = make(name, seed);
          const workers = fleet(weights);
          s.rebuild(workers);
          const only = workers[at % workers.length]!;
          for (let i = 0; i < 20; i++) {
            expect(s.pick((w) => w === only, undefined, key ?? undefined)).toBe(only);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('over membership changes and loads, never picks a worker the filter rejects while another has room', () => {
    fc.assert(
      fc.property(
        weightsArb,
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('pick' as const), key: fc.option(fc.nat({ max: 50 })) }),
            fc.record({ op: fc.constant('end' as const), at: fc.nat() }),
            fc.record({ op: fc.constant('down' as const), at: fc.nat() }),
            fc.record({ op: fc.constant('change' as const), change: changeArb }),
          ),
          { maxLength: 150 },
        ),
        fc.integer({ min: 1, max: 1_000 }),
        (weights, ops, seed) => {
          const s = make(name, seed);
          let workers = fleet(weights, 3);
          s.rebuild(workers);
          for (const op of ops) {
            if (op.op === 'change') {
              workers = applyChange(workers, op.change).map((w) => {
                w.capacity = Number.isFinite(w.capacity) ? w.capacity : 3;
                return w;
              });
              s.rebuild(workers);
            } else if (op.op === 'down') {
              const w = workers[op.at % workers.length]!;
              w.down = !w.down;
            } else if (op.op === 'end') {
              const busy = workers.filter((w) => w.inflight > 0);
              const w = busy[op.at % Math.max(1, busy.length)];
              if (w) {
                w.inflight--;
                s.loadChanged?.(w, -1);
              }
            } else {
              const picked = s.pick(hasRoom, undefined, op.key === null ? undefined : `k${op.key}`);
              const room = workers.some((w) => hasRoom(w, undefined));
              if (!room) {
                expect(picked).toBeUndefined();
                continue;
              }
              expect(picked).toBeDefined();
              expect(workers).toContain(picked);
              expect(hasRoom(picked!, undefined)).toBe(true);
              take(s, picked!);
            }
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  it('passes `arg` to the filter, so a caller needs no closure per pick', () => {
    const s = make(name);
    const workers = fleet([1, 2, 3]);
    s.rebuild(workers);
    const avoid = workers[0]!;
    // The dispatcher's "anywhere but the last worker" filter on redelivery.
    const elsewhere = (w: Fake, last: Fake) => w !== last;
    for (let i = 0; i < 30; i++) {
      const picked = s.pick(elsewhere, avoid, i % 2 === 0 ? `key-${i}` : undefined);
      expect(picked).toBeDefined();
      expect(picked).not.toBe(avoid);
    }
  });
});

/** Every strategy that weighs workers (all but round-robin). */
const WEIGHTED = STRATEGY_NAMES.filter((name) => name !== 'round-robin');

describe.each(WEIGHTED)('%s, after an operator reweighs a live worker', (name) => {
  // The dispatcher changes a live worker's weight in place (the same record, its
  // attempts and averages kept) and rebuilds: shares follow the new weights.
  const PICKS = 800;

  /** w0's share of `PICKS` picks that all stay in flight, with or without keys. */
  function share(s: Strategy<Fake>, workers: Fake[], keyed: boolean): number {
    let first = 0;
    for (let i = 0; i < PICKS; i++) {
      const picked = s.pick(hasRoom, undefined, keyed ? `key-${i}` : undefined)!;
      take(s, picked);
      if (picked === workers[0]) first++;
    }
    for (const w of workers) {
      s.loadChanged?.(w, -w.inflight);
      w.inflight = 0;
    }
    return first / PICKS;
  }

  it.each([
    ['without keys', false],
    ['with keys', true],
  ])('%s', (_how, keyed) => {
    const s = make(name, 7);
    const workers = fleet([1, 1]);
    s.rebuild(workers);
    expect(share(s, workers, keyed)).toBeCloseTo(0.5, 1);
    workers[0]!.weight = 3;
    s.rebuild(workers);
    expect(Math.abs(share(s, workers, keyed) - 0.75)).toBeLessThan(0.07);
    workers[0]!.weight = 1;
    workers[1]!.weight = 4;
    s.rebuild(workers);
    expect(Math.abs(share(s, workers, keyed) - 0.2)).toBeLessThan(0.07);
  });
});

describe('createStrategy', () => {
  it('makes the default ring for weighted-round-robin', () => {
    expect(make('weighted-round-robin')).toBeInstanceOf(WeightedRoundRobin);
  });

  it('makes a distinct instance per call: two dispatchers share no state', () => {
    for (const name of STRATEGY_NAMES) expect(make(name)).not.toBe(make(name));
  });
});
