import type { Strategy, Weighted } from '../strategy.js';
import { weightOf } from './alias-table.js';
import { WeightedDraw } from './weighted-draw.js';

/** Draws before a pick stops sampling and weighs the accepting workers in one pass. */
const DRAWS = 8;

/**
 * The `random` strategy: weighted random, each pick independent of the others,
 * so shares follow weights in expectation (not per cycle, as the ring's do).
 * Stateless between picks, which suits many dispatchers that should not fall
 * into step with one another. A pick draws from an alias table in O(1); when
 * {@link DRAWS} draws in a row land on workers the filter rejects (most of the
 * fleet is full), it falls back to one weighted pass over the workers that
 * accept (weighted reservoir sampling, O(n)), so the share among those stays
 * exact and a lone free worker is always found.
 */
export class WeightedRandom<W extends Weighted> extends WeightedDraw<W> implements Strategy<W> {
  pick<A>(accept: (worker: W, arg: A) => boolean, arg: A): W | undefined {
    const workers = this.workers;
    if (workers.length === 0) return undefined;
    for (let d = 0; d < DRAWS; d++) {
      const worker = this.draw();
      if (accept(worker, arg)) return worker;
    }
    // Weighted reservoir: keep the k-th accepted worker with probability w_k / (w_1 + … + w_k).
    let chosen: W | undefined;
    let total = 0;
    for (let i = 0; i < workers.length; i++) {
      const worker = workers[i]!;
      if (!accept(worker, arg)) continue;
      const w = weightOf(worker);
      total += w;
      if (this.random() * total < w) chosen = worker;
    }
    return chosen;
  }
}
