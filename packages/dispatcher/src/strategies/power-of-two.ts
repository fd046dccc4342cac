import type { Candidate, Strategy } from '../strategy.js';
import { weightOf } from './alias-table.js';
import { WeightedDraw } from './weighted-draw.js';

/** Rounds of two draws before a pick looks at every worker. */
const ROUNDS = 4;

/**
 * The `power-of-two` strategy: two workers sampled by weight, the less loaded
 * (this dispatcher's attempts in flight per unit of weight) taken. Mitzenmacher's
 * "power of two choices": nearly the balance of `least-inflight`, at O(1) and
 * without keeping workers in order, so it suits large fleets and needs no word
 * of each attempt's start and end. A tie goes to the first drawn, itself random.
 *
 * Draws come from an alias table. When {@link ROUNDS} rounds in a row find
 * neither draw acceptable (most of the fleet is full), one pass (O(n)) takes
 * the least loaded worker the filter accepts, so a free worker is never missed.
 */
export class PowerOfTwo<W extends Candidate> extends WeightedDraw<W> implements Strategy<W> {
  pick<A>(accept: (worker: W, arg: A) => boolean, arg: A): W | undefined {
    if (this.workers.length <= 2) return this.#leastLoaded(accept, arg);
    for (let round = 0; round < ROUNDS; round++) {
      const a = this.draw();
      let b = this.draw();
      // One more draw for a distinct second choice; a heavy worker may win both.
      if (b === a) b = this.draw();
      const takeA = accept(a, arg);
      const takeB = b !== a && accept(b, arg);
      if (takeA && takeB) return lighter(b, a) ? b : a;
      if (takeA) return a;
      if (takeB) return b;
    }
    return this.#leastLoaded(accept, arg);
  }

  /** The least loaded worker the filter accepts, from a random start so ties are unbiased. */
  #leastLoaded<A>(accept: (worker: W, arg: A) => boolean, arg: A): W | undefined {
    const workers = this.workers;
    const n = workers.length;
    if (n === 0) return undefined;
    const start = Math.min(n - 1, Math.floor(this.random() * n));
    let best: W | undefined;
    for (let k = 0; k < n; k++) {
      const worker = workers[start + k < n ? start + k : start + k - n]!;
      if ((best === undefined || lighter(worker, best)) && accept(worker, arg)) best = worker;
    }
    return best;
  }
}

/** Whether `a` carries less in flight per unit of weight than `b` (compared without dividing). */
function lighter(a: Candidate, b: Candidate): boolean {
  return a.inflight * weightOf(b) < b.inflight * weightOf(a);
}
