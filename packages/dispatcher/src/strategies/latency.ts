import type { Strategy, Weighted } from '../strategy.js';
import { weightOf } from './alias-table.js';
import { type HeapEntry, OrderedHeap } from './ordered-heap.js';

/**
 * α of the moving average: each round trip moves a worker's average a fifth of
 * the way to it, so a change shows within a few results and is taken as the
 * new normal after about ten (0.8¹⁰ ≈ 0.1), while one outlier moves it little.
 */
export const LATENCY_SMOOTHING = 0.2;
/**
 * A worker never counts as more than this many times slower than the fleet's
 * average: it keeps at least 1/16 of its weight's turns, and those are the
 * probes that show when it is fast again.
 */
const MAX_SLOWDOWN = 16;
/**
 * Round trips of other workers, per worker in the fleet, after which a worker
 * that brought none back is believed half-way back to the fleet's average.
 */
const SILENCE_PER_WORKER = 4 * MAX_SLOWDOWN;
/** Round trips below the clock's resolution (1 ms) count as 1 ms. */
const MIN_SAMPLE_MS = 1;

interface Entry<W> extends HeapEntry<W> {
  /** Moving average of its round trips, in ms; NaN before the first. */
  average: number;
  /** The round-trip count ({@link Latency.#samples}) when it last brought one back. */
  heardAt: number;
  /** Virtual time of its last turn and of its next. */
  lastTurn: number;
  nextTurn: number;
  /** Unique, so equal turns still have an order. */
  readonly order: number;
}

/**
 * The `latency` strategy: weights scaled by the inverse of each worker's recent
 * round trip — an exponentially weighted moving average of the time from
 * sending an attempt to its result ({@link LATENCY_SMOOTHING}) — so a slow or
 * overloaded worker gets less, in proportion, and regains its share when it
 * recovers. Only successful results are timed: a worker that fails fast must
 * not look fast. Each task counts as one unit of work; all handlers share one
 * average per worker, which compares workers fairly while the mix of handlers
 * reaching each is alike.
 *
 * A worker's effective weight is `weight / (average / fleet average)`. Picks
 * follow effective weights exactly, as stride scheduling does (Waldspurger):
 * each worker's next turn is its last plus `1 / effective weight` in virtual
 * time, and the worker with the earliest next turn the filter accepts goes —
 * a heap, O(log n) a pick, no randomness. A new round trip re-times the
 * worker's next turn at once. Recovery: a worker's slowdown is capped at
 * {@link MAX_SLOWDOWN}× the average, so it keeps being probed; and one that has
 * brought back nothing for a while (gone quiet or filtered out) is believed
 * half-way back to the average, so it is given turns to show how it is now.
 */
export class Latency<W extends Weighted> implements Strategy<W> {
  readonly #heap = new OrderedHeap<W, Entry<W>>(earlier);
  #entries = new Map<W, Entry<W>>();
  /** Virtual time: the turn of the last pick. */
  #now = 0;
  /** Round trips observed so far: the clock {@link SILENCE_PER_WORKER} counts in. */
  #samples = 0;
  /** Sum and count of the averages of workers that have one: the fleet's average. */
  #sum = 0;
  #averaged = 0;
  #orders = 0;

  rebuild(workers: readonly W[]): void {
    const entries = new Map<W, Entry<W>>();
    let sum = 0;
    let averaged = 0;
    const list = workers.map((worker) => {
      const entry = this.#entries.get(worker) ?? {
        worker,
        heapPos: 0,
        average: Number.NaN,
        heardAt: this.#samples,
        lastTurn: this.#now,
        nextTurn: this.#now,
        order: ++this.#orders,
      };
      // Virtual time restarts at 0, so it never grows past what a double adds exactly.
      entry.lastTurn -= this.#now;
      entry.nextTurn -= this.#now;
      if (!Number.isNaN(entry.average)) {
        sum += entry.average;
        averaged++;
      }
      entries.set(worker, entry);
      return entry;
    });
    this.#now = 0;
    this.#entries = entries;
    this.#sum = sum;
    this.#averaged = averaged;
    this.#heap.reset(list);
  }

  pick<A>(accept: (worker: W, arg: A) => boolean, arg: A): W | undefined {
    const entry = this.#heap.first(accept, arg);
    if (entry === undefined) return undefined;
    // A worker that was passed over (full, filtered) starts from now, without a burst of catch-up turns.
    if (entry.nextTurn > this.#now) this.#now = entry.nextTurn;
    entry.lastTurn = this.#now;
    entry.nextTurn = this.#now + this.#stride(entry);
    this.#heap.update(entry);
    return entry.worker;
  }

  observe(worker: W, ms: number): void {
    const entry = this.#entries.get(worker);
    if (entry === undefined || !(ms >= 0)) return;
    const sample = Math.max(ms, MIN_SAMPLE_MS);
    this.#samples++;
    entry.heardAt = this.#samples;
    const old = entry.average;
    if (Number.isNaN(old)) {
      entry.average = sample;
      this.#sum += sample;
      this.#averaged++;
    } else {
      entry.average = old + LATENCY_SMOOTHING * (sample - old);
      this.#sum += entry.average - old;
    }
    entry.nextTurn = entry.lastTurn + this.#stride(entry);
    this.#heap.update(entry);
  }

  /** The average round trip of `worker` in ms, if it has one (for tests and the bench). */
  averageOf(worker: W): number | undefined {
    const average = this.#entries.get(worker)?.average;
    return average === undefined || Number.isNaN(average) ? undefined : average;
  }

  /** Virtual time between two turns of `entry`: 1 / its effective weight. */
  #stride(entry: Entry<W>): number {
    const weight = weightOf(entry.worker);
    if (Number.isNaN(entry.average) || this.#averaged === 0) return 1 / weight;
    const fleet = this.#sum / this.#averaged;
    if (this.#samples - entry.heardAt > SILENCE_PER_WORKER * this.#entries.size) {
      const old = entry.average;
      entry.average = (old + fleet) / 2;
      this.#sum += entry.average - old;
      entry.heardAt = this.#samples;
    }
    const slowdown = Math.min(MAX_SLOWDOWN, entry.average / (this.#sum / this.#averaged));
    return slowdown / weight;
  }
}

/** The earlier next turn; equal turns in a fixed order. */
function earlier<W>(a: Entry<W>, b: Entry<W>): boolean {
  return a.nextTurn < b.nextTurn || (a.nextTurn === b.nextTurn && a.order < b.order);
}
