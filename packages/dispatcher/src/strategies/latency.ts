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
 * A worker never counts as more than this many times slower than the typical
 * round trip (a moving average of every result's): it keeps about 1/16 of the
 * turns a typical worker of its weight gets, and those are the probes that
 * show when it is fast again.
 */
export const LATENCY_MAX_SLOWDOWN = 16;
/** Round trips below the clock's resolution (1 ms) count as 1 ms. */
const MIN_SAMPLE_MS = 1;
/** Workers passed over in turn order before a pick searches the rest for one the filter accepts. */
const SKIPS = 8;

interface Entry<W> extends HeapEntry<W> {
  /** Moving average of its round trips, in ms; NaN before the first. */
  average: number;
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
 * A worker's effective weight is `weight / average`: shares go in proportion
 * to weight and inversely to round trip. A worker without an average yet
 * counts at the typical round trip, a (harmonic) moving average of every
 * result's, whichever worker it came from. Picks follow effective weights exactly, as
 * stride scheduling does (Waldspurger): each worker's next turn is its last
 * plus `1 / effective weight` in virtual time, and the worker with the
 * earliest next turn the filter accepts goes — a heap, O(log n) a pick, no
 * randomness. A new round trip re-times the worker's next turn at once.
 *
 * Recovery is by probing: a worker's slowdown is capped at
 * {@link LATENCY_MAX_SLOWDOWN}× the typical round trip, so however slow it got it
 * keeps a share of the traffic, and the round trips of those tasks move its
 * average back as soon as it is fast again (within about ten of them). The
 * average changes only as results come back: a worker that stops answering
 * altogether is held off by its capacity and the liveness rules, not by this.
 */
export class Latency<W extends Weighted> implements Strategy<W> {
  readonly #heap = new OrderedHeap<W, Entry<W>>(earlier);
  #entries = new Map<W, Entry<W>>();
  /** Virtual time: the turn of the last pick. */
  #now = 0;
  /**
   * Moving average of every result's rate (1 / round trip): its inverse is the
   * typical round trip. A harmonic mean, so the one result of a stuck worker
   * (a minute, say) moves it by a quarter at most, not a thousandfold.
   */
  #typicalRate = Number.NaN;
  #orders = 0;
  /** Picks since every worker's next turn was last re-timed. */
  #sinceRetime = 0;

  rebuild(workers: readonly W[]): void {
    const entries = new Map<W, Entry<W>>();
    const list = workers.map((worker) => {
      let entry = this.#entries.get(worker);
      if (entry === undefined) {
        // Due at once, as if its last turn were one stride ago.
        entry = {
          worker,
          heapPos: 0,
          average: Number.NaN,
          lastTurn: 0,
          nextTurn: this.#now,
          order: ++this.#orders,
        };
        entry.lastTurn = this.#now - this.#stride(entry);
      }
      // Virtual time restarts at 0, so it never grows past what a double adds exactly.
      entry.lastTurn -= this.#now;
      entry.nextTurn -= this.#now;
      entries.set(worker, entry);
      return entry;
    });
    this.#now = 0;
    this.#entries = entries;
    this.#heap.reset(list);
  }

  pick<A>(accept: (worker: W, arg: A) => boolean, arg: A): W | undefined {
    // A turn is timed with the typical round trip of its day; every n picks all are
    // timed afresh (O(n), so O(1) a pick), so a cap set while the typical read high
    // does not keep a worker waiting long after.
    if (++this.#sinceRetime >= this.#heap.size) {
      this.#sinceRetime = 0;
      this.#heap.updateAll(this.#retime);
    }
    // The worker whose turn it is takes the task; one the filter rejects (full, say) loses
    // its turn, as a full worker's slot in the ring is skipped, so it does not stay first
    // and cost every later pick a look.
    const heap = this.#heap;
    const skips = Math.min(SKIPS, heap.size);
    for (let k = 0; k < skips; k++) {
      const entry = heap.peek()!;
      this.#takeTurn(entry);
      if (accept(entry.worker, arg)) return entry.worker;
    }
    // A fast worker passed over may be first again before a slow one's turn comes: look at all.
    const entry = heap.first(accept, arg);
    if (entry === undefined) return undefined;
    this.#takeTurn(entry);
    return entry.worker;
  }

  /** `entry` has its turn now: virtual time moves to it (never back), and its next is timed. */
  #takeTurn(entry: Entry<W>): void {
    // A worker passed over while it could take nothing starts from now, with no catch-up turns.
    if (entry.nextTurn > this.#now) this.#now = entry.nextTurn;
    entry.lastTurn = this.#now;
    entry.nextTurn = this.#now + this.#stride(entry);
    this.#heap.update(entry);
  }

  observe(worker: W, ms: number): void {
    const entry = this.#entries.get(worker);
    if (entry === undefined || !(ms >= 0)) return;
    const sample = Math.max(ms, MIN_SAMPLE_MS);
    entry.average = smooth(entry.average, sample);
    this.#typicalRate = smooth(this.#typicalRate, 1 / sample);
    this.#retime(entry);
    this.#heap.update(entry);
  }

  /** Times `entry`'s next turn from its last with its stride as it is now. */
  readonly #retime = (entry: Entry<W>): void => {
    entry.nextTurn = entry.lastTurn + this.#stride(entry);
  };

  /** The average round trip of `worker` in ms, if it has one (for tests and the bench). */
  averageOf(worker: W): number | undefined {
    const average = this.#entries.get(worker)?.average;
    return average === undefined || Number.isNaN(average) ? undefined : average;
  }

  /**
   * Virtual time between two turns of `entry`: its round trip per unit of
   * weight, in ms. Not divided by the typical round trip, which moves with
   * every result: turns timed against different readings of it would skew the
   * shares. A worker without an average yet counts as typical.
   */
  #stride(entry: Entry<W>): number {
    const typical = Number.isNaN(this.#typicalRate) ? 1 : 1 / this.#typicalRate;
    const average = Number.isNaN(entry.average) ? typical : entry.average;
    return Math.min(average, LATENCY_MAX_SLOWDOWN * typical) / weightOf(entry.worker);
  }
}

/** The moving average `average` after `sample` (the sample itself as the first). */
function smooth(average: number, sample: number): number {
  return Number.isNaN(average) ? sample : average + LATENCY_SMOOTHING * (sample - average);
}

/** The earlier next turn; equal turns in a fixed order. */
function earlier<W>(a: Entry<W>, b: Entry<W>): boolean {
  return a.nextTurn < b.nextTurn || (a.nextTurn === b.nextTurn && a.order < b.order);
}
