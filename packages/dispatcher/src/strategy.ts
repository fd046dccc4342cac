/**
 * How the dispatcher picks a worker for an attempt. A strategy keeps its own
 * view of the live workers (rebuilt on every membership change) and picks the
 * next one a filter accepts. The dispatcher depends on this interface only; the
 * implementations live under `strategies/`, one per file.
 *
 * A pick runs for every attempt, so it must allocate nothing and run in O(1)
 * amortised (or O(log n)); the filter takes the task as an argument, so a
 * caller needs no closure per pick.
 */

/** A worker as strategies see it: anything with a positive integer weight. */
export interface Weighted {
  readonly weight: number;
}

export interface Strategy<W extends Weighted> {
  /** Takes a new membership (or new weights): every live worker, in a stable order. */
  rebuild(workers: readonly W[]): void;
  /** The next worker for which `accept(worker, arg)` is true, or undefined when none is. */
  pick<A>(accept: (worker: W, arg: A) => boolean, arg: A): W | undefined;
}
