import type { Strategy, Weighted } from '../strategy.js';

/** Cycles longer than this are scaled down; the shares stay within rounding of the weights. */
const MAX_CYCLE = 10_000;

/**
 * The `weighted-round-robin` strategy, the default.
 * Smooth weighted round-robin (nginx's upstream algorithm), precomputed: over
 * one full cycle every member appears exactly its weight's share of times,
 * spread out rather than in bursts. `pick` walks the sequence and skips members
 * the caller rejects (full, suspected), so a full member never starves others.
 */
export class WeightedRoundRobin<T extends Weighted> implements Strategy<T> {
  #sequence: T[] = [];
  #cursor = 0;

  /** Rebuilds the sequence for a new membership or new weights. */
  rebuild(members: readonly T[]): void {
    this.#sequence = buildSequence(members);
    this.#cursor = 0;
  }

  /** Length of one full cycle. */
  get cycleLength(): number {
    return this.#sequence.length;
  }

  /**
   * The next member for which `accept(member, arg)` is true, or undefined when
   * none is. Amortised O(1) while most members accept; at worst one pass over
   * the cycle. `arg` lets a caller pass context without making a closure per pick.
   */
  pick(accept: (member: T) => boolean): T | undefined;
  pick<A>(accept: (member: T, arg: A) => boolean, arg: A): T | undefined;
  pick<A>(accept: (member: T, arg: A | undefined) => boolean, arg?: A): T | undefined {
    const sequence = this.#sequence;
    const n = sequence.length;
    for (let tried = 0; tried < n; tried++) {
      const member = sequence[this.#cursor]!;
      this.#cursor = this.#cursor + 1 === n ? 0 : this.#cursor + 1;
      if (accept(member, arg)) return member;
    }
    return undefined;
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** The smooth weighted round-robin order of one full cycle. */
export function buildSequence<T extends Weighted>(members: readonly T[]): T[] {
  if (members.length === 0) return [];
  let weights = members.map((m) =>
    Number.isFinite(m.weight) ? Math.max(1, Math.floor(m.weight)) : 1,
  );
  const divisor = weights.reduce(gcd);
  weights = weights.map((w) => w / divisor);
  let total = weights.reduce((a, b) => a + b, 0);
  if (total > MAX_CYCLE) {
    // Rounding and the floor of 1 may leave the cycle a few slots over the cap; shares stay within 0.5 of scale.
    const scale = MAX_CYCLE / total;
    weights = weights.map((w) => Math.max(1, Math.round(w * scale)));
    total = weights.reduce((a, b) => a + b, 0);
  }
  const current = new Array<number>(members.length).fill(0);
  const sequence: T[] = [];
  for (let step = 0; step < total; step++) {
    let best = 0;
    for (let i = 0; i < members.length; i++) {
      current[i]! += weights[i]!;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    sequence.push(members[best]!);
  }
  return sequence;
}
