/**
 * Weighted sampling in O(1): Vose's alias method. Built once per membership in
 * O(n); each draw takes one random number and two array reads, so `random`
 * and `power-of-two` sample by weight without a search per pick.
 *
 * Each of the n columns holds a probability `prob[i]` of keeping column i and
 * an `alias[i]` to take otherwise; together the columns give every index
 * exactly its weight's share.
 */
import type { Weighted } from '../strategy.js';

/** A worker's weight as the weighted strategies count it: a non-finite or non-positive one as 1. */
export function weightOf(w: Weighted): number {
  return Number.isFinite(w.weight) && w.weight > 0 ? w.weight : 1;
}

export class AliasTable {
  #prob = new Float64Array(0);
  #alias = new Int32Array(0);

  /** Number of indices it draws from. */
  get size(): number {
    return this.#prob.length;
  }

  /** Rebuilds for `weights`, each positive and finite. */
  rebuild(w: readonly number[]): void {
    const n = w.length;
    const prob = new Float64Array(n);
    const alias = new Int32Array(n);
    let total = 0;
    for (const x of w) total += x;
    // Scaled so the average column is 1: below 1 it needs an alias to fill it.
    const scaled = w.map((x) => (x * n) / total);
    const small: number[] = [];
    const large: number[] = [];
    scaled.forEach((p, i) => {
      (p < 1 ? small : large).push(i);
    });
    while (small.length > 0 && large.length > 0) {
      const s = small.pop()!;
      const l = large.pop()!;
      prob[s] = scaled[s]!;
      alias[s] = l;
      scaled[l] = scaled[l]! + scaled[s]! - 1;
      (scaled[l]! < 1 ? small : large).push(l);
    }
    // What is left is 1 up to rounding.
    for (const i of large) prob[i] = 1;
    for (const i of small) prob[i] = 1;
    this.#prob = prob;
    this.#alias = alias;
  }

  /** An index drawn with probability proportional to its weight; `u` is uniform in [0, 1). */
  draw(u: number): number {
    const x = u * this.#prob.length;
    // A source that can return 1 itself must not index past the end.
    const i = Math.min(Math.floor(x), this.#prob.length - 1);
    return x - i < this.#prob[i]! ? i : this.#alias[i]!;
  }
}
