/**
 * Shared pieces of the strategies' property tests: fake workers with a load
 * and a capacity, the books a dispatcher keeps (so `loadChanged` hears of
 * every change, as `assign` and `release` make it), a seeded random source,
 * and counting. Test-only: excluded from the build.
 */
import fc from 'fast-check';
import type { Candidate, Strategy } from '../strategy.js';

export interface Fake extends Candidate {
  readonly id: string;
  weight: number;
  inflight: number;
  capacity: number;
  /** Stands in for the filter's other reasons (suspected, draining, lacking the handler). */
  down: boolean;
}

export function fake(id: string, weight = 1, capacity = Number.POSITIVE_INFINITY): Fake {
  return { id, weight, inflight: 0, capacity, down: false };
}

/** Workers `w0`, `w1`, … with the given weights. */
export function fleet(weights: readonly number[], capacity?: number): Fake[] {
  return weights.map((weight, i) => fake(`w${i}`, weight, capacity));
}

export const acceptAll = (_w: Fake, _arg: unknown): boolean => true;

/** The dispatcher's filter, as far as load goes: room left, and not down. */
export const hasRoom = (w: Fake, _arg: unknown): boolean => !w.down && w.inflight < w.capacity;

/** An attempt starts on `w`, as `assign` reports it. */
export function take(strategy: Strategy<Fake>, w: Fake): void {
  w.inflight++;
  strategy.loadChanged?.(w, 1);
}

/** An attempt on `w` ends, as `release` reports it. */
export function give(strategy: Strategy<Fake>, w: Fake): void {
  w.inflight--;
  strategy.loadChanged?.(w, -1);
}

/** A seeded source of uniform numbers in [0, 1) (mulberry32), so statistical tests are repeatable. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function counts<T>(items: Iterable<T>): Map<T, number> {
  const out = new Map<T, number>();
  for (const item of items) out.set(item, (out.get(item) ?? 0) + 1);
  return out;
}

export function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** `n` picks with `accept`; throws if one comes back empty. */
export function pickN(
  strategy: Strategy<Fake>,
  n: number,
  accept: (w: Fake, arg: unknown) => boolean = acceptAll,
  key?: string,
): Fake[] {
  const out: Fake[] = [];
  for (let i = 0; i < n; i++) {
    const w = strategy.pick(accept, undefined, key);
    if (w === undefined) throw new Error('pick returned undefined');
    out.push(w);
  }
  return out;
}

export const weightsArb = fc.array(fc.integer({ min: 1, max: 20 }), {
  minLength: 1,
  maxLength: 8,
});

/**
 * A membership change: add a worker (with a weight), remove one (by index),
 * or reweigh one (a weight change makes a new record, as a restart does).
 */
export type Change =
  | { kind: 'add'; weight: number }
  | { kind: 'remove'; at: number }
  | { kind: 'reweigh'; at: number; weight: number };

export const changeArb: fc.Arbitrary<Change> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), weight: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ kind: fc.constant('remove' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('reweigh' as const),
    at: fc.nat(),
    weight: fc.integer({ min: 1, max: 20 }),
  }),
);

let made = 0;

/** The membership after `change` (never empty: a removal of the last worker is skipped). */
export function applyChange(workers: readonly Fake[], change: Change): Fake[] {
  const next = [...workers];
  if (change.kind === 'add') {
    next.push(fake(`n${++made}`, change.weight));
  } else if (next.length > 1 && change.kind === 'remove') {
    next.splice(change.at % next.length, 1);
  } else if (change.kind === 'reweigh') {
    const i = change.at % next.length;
    next[i] = fake(`r${++made}`, change.weight);
  }
  return next;
}

/**
 * Whether `count` successes in `n` draws of probability `p` lie within `sigmas`
 * standard deviations of the mean: the bound of every statistical share test.
 */
export function withinSigmas(count: number, n: number, p: number, sigmas = 5): boolean {
  const sd = Math.sqrt(n * p * (1 - p));
  return Math.abs(count - n * p) <= sigmas * sd + 1e-9;
}
