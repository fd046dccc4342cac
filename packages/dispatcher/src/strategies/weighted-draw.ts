import type { Weighted } from '../strategy.js';
import { AliasTable, weightOf } from './alias-table.js';

/**
 * What the sampling strategies (`random`, `power-of-two`) share: the workers as
 * of the last rebuild, an alias table over their weights, and a source of
 * uniform numbers, so that a worker is drawn by weight in O(1).
 */
export abstract class WeightedDraw<W extends Weighted> {
  protected readonly random: () => number;
  protected workers: readonly W[] = [];
  readonly #table = new AliasTable();

  /** `random` returns uniform numbers in [0, 1); by default `Math.random`, read at each call. */
  constructor(random: () => number = () => Math.random()) {
    this.random = random;
  }

  rebuild(workers: readonly W[]): void {
    this.workers = [...workers];
    this.#table.rebuild(this.workers.map(weightOf));
  }

  /** A worker drawn with probability in proportion to its weight; there must be one. */
  protected draw(): W {
    return this.workers[this.#table.draw(this.random())]!;
  }
}
