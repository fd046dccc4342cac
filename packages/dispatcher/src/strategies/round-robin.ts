import type { Strategy, Weighted } from '../strategy.js';

/**
 * The `round-robin` strategy: equal turns in membership order, weights
 * ignored. For fleets of equal machines, or when weights must not matter.
 * `pick` walks on from where the last pick stopped and skips workers the
 * filter rejects, so over any n picks with every worker accepting each gets
 * exactly one turn; O(1) while most accept.
 */
export class RoundRobin<W extends Weighted> implements Strategy<W> {
  #workers: readonly W[] = [];
  #cursor = 0;

  rebuild(workers: readonly W[]): void {
    this.#workers = [...workers];
    // Kept rather than reset, so a membership change does not hand the first worker an extra turn.
    if (this.#cursor >= this.#workers.length) this.#cursor = 0;
  }

  pick<A>(accept: (worker: W, arg: A) => boolean, arg: A): W | undefined {
    const workers = this.#workers;
    const n = workers.length;
    for (let tried = 0; tried < n; tried++) {
      const worker = workers[this.#cursor]!;
      this.#cursor = this.#cursor + 1 === n ? 0 : this.#cursor + 1;
      if (accept(worker, arg)) return worker;
    }
    return undefined;
  }
}
