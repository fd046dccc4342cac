/**
 * How the dispatcher picks a worker for an attempt. A strategy keeps its own
 * view of the live workers (rebuilt on every membership change) and picks the
 * next one a filter accepts. The dispatcher depends on this interface only; the
 * implementations live under `strategies/`, one per file, and
 * `strategies/factory.ts` makes one from its name.
 *
 * A pick runs for every attempt, so it must allocate nothing and run in O(1)
 * amortised (or O(log n)); the filter takes the task as an argument, so a
 * caller needs no closure per pick. The filter holds every rule a pick must
 * keep (never a worker at capacity, suspected, draining, blocked, without the
 * handler or too small for the task); a strategy only orders the candidates.
 */

/** The strategies `createDispatcher({ strategy })` accepts, by name. */
export const STRATEGY_NAMES = [
  'weighted-round-robin',
  'round-robin',
  'random',
  'least-inflight',
  'power-of-two',
  'consistent-hash',
  'latency',
] as const;

/** The name of a selection strategy; see the dispatcher's README for when to choose each. */
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** A worker as strategies see it: anything with a positive integer weight. */
export interface Weighted {
  readonly weight: number;
}

/**
 * A worker as the load- and identity-aware strategies see it: its id (hashed
 * onto the consistent-hash ring) and this dispatcher's attempts on it now.
 */
export interface Candidate extends Weighted {
  readonly id: string;
  readonly inflight: number;
}

export interface Strategy<W extends Weighted> {
  /** Takes a new membership (or new weights): every live worker, in a stable order. */
  rebuild(workers: readonly W[]): void;
  /**
   * The next worker for which `accept(worker, arg)` is true, or undefined when
   * none is. `key` is the task's routing key, if it has one; only
   * `consistent-hash` reads it.
   */
  pick<A>(accept: (worker: W, arg: A) => boolean, arg: A, key?: string): W | undefined;
  /**
   * Optional: `worker.inflight` just changed by `delta` (an attempt started on
   * it or left it). Called for live workers only. Strategies that keep workers
   * ordered by load, or count the load of all of them, keep up through it.
   */
  loadChanged?(worker: W, delta: number): void;
  /**
   * Optional: a result of an attempt on `worker` came back `ms` after the
   * attempt was sent. The `latency` strategy weighs workers by it.
   */
  observe?(worker: W, ms: number): void;
}
