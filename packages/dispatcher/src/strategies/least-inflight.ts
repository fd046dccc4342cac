import type { Candidate, Strategy } from '../strategy.js';
import { weightOf } from './alias-table.js';
import { type HeapEntry, OrderedHeap } from './ordered-heap.js';

interface Entry<W> extends HeapEntry<W> {
  /** Its weight as counted (see weightOf), read on every comparison. */
  weight: number;
  /** When it last had a turn (a pick counter): among equally loaded workers the oldest goes first. */
  turn: number;
}

/**
 * The `least-inflight` strategy (the seeds' "least connections"): the worker
 * with the fewest of this dispatcher's attempts in flight per unit of weight.
 * It follows how fast each worker really drains its work, so a slow or stalled
 * worker gets less without any tuning; it sees only this dispatcher's attempts.
 *
 * Workers sit in a heap ordered by `inflight / weight`, kept current through
 * {@link loadChanged} (every attempt that starts or ends), so a pick is O(1)
 * when the least loaded worker accepts and O(log n) to reorder it. Ties go to
 * the worker whose last turn is oldest: tied workers take turns, and no place
 * in the membership is favoured.
 */
export class LeastInflight<W extends Candidate> implements Strategy<W> {
  readonly #heap = new OrderedHeap<W, Entry<W>>(before);
  #entries = new Map<W, Entry<W>>();
  #turns = 0;

  rebuild(workers: readonly W[]): void {
    const entries = new Map<W, Entry<W>>();
    const list = workers.map((worker) => {
      const entry = this.#entries.get(worker) ?? {
        worker,
        heapPos: 0,
        weight: 1,
        turn: ++this.#turns,
      };
      entry.weight = weightOf(worker);
      entries.set(worker, entry);
      return entry;
    });
    this.#entries = entries;
    this.#heap.reset(list);
  }

  pick<A>(accept: (worker: W, arg: A) => boolean, arg: A): W | undefined {
    const entry = this.#heap.first(accept, arg);
    if (entry === undefined) return undefined;
    entry.turn = ++this.#turns;
    this.#heap.update(entry);
    return entry.worker;
  }

  loadChanged(worker: W): void {
    const entry = this.#entries.get(worker);
    if (entry !== undefined) this.#heap.update(entry);
  }
}

/** Less loaded per unit of weight (compared without dividing), then the older turn. */
function before<W extends Candidate>(a: Entry<W>, b: Entry<W>): boolean {
  const x = a.worker.inflight * b.weight;
  const y = b.worker.inflight * a.weight;
  return x < y || (x === y && a.turn < b.turn);
}
