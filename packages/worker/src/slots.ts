/**
 * Bounded concurrency for handler runs: at most `concurrency` jobs hold a slot,
 * the rest wait in FIFO order.
 *
 * It replaces p-limit on the worker's hot path. p-limit wraps every job in
 * promises and starts even a synchronous handler in a later microtask; that
 * machinery was a tenth of the worker's CPU per task in the bench. Here a job
 * starts synchronously when a slot is free, so a handler that returns a plain
 * value finishes without a single promise, and a job that no longer wants to
 * run (a cancelled attempt) just gives its slot back when its turn comes.
 */
export class Slots<T> {
  readonly #concurrency: number;
  readonly #start: (job: T) => void;
  #active = 0;
  readonly #queue: Array<T | undefined> = [];
  #head = 0;
  #draining = false;

  /**
   * `start` runs a job that was given a slot; the job must call {@link release}
   * exactly once when it finishes, synchronously or later.
   */
  constructor(concurrency: number, start: (job: T) => void) {
    this.#concurrency = concurrency;
    this.#start = start;
  }

  /** Jobs holding a slot. */
  get active(): number {
    return this.#active;
  }

  /** Jobs waiting for a slot, including ones that will give it back at once. */
  get waiting(): number {
    return this.#queue.length - this.#head;
  }

  /** Starts `job` now if a slot is free, else when one frees. */
  run(job: T): void {
    if (this.#active < this.#concurrency && this.#head === this.#queue.length) {
      // A free slot and nobody ahead: start it without a trip through the queue.
      this.#active++;
      this.#start(job);
      return;
    }
    this.#queue.push(job);
    this.#drain();
  }

  /** A job finished: its slot goes to the next one waiting. */
  release(): void {
    this.#active--;
    if (this.#head < this.#queue.length) this.#drain();
  }

  #drain(): void {
    // A job that finishes synchronously releases inside `start`: the loop below
    // picks up its slot, rather than recursing once per queued job.
    if (this.#draining) return;
    this.#draining = true;
    try {
      const queue = this.#queue;
      while (this.#active < this.#concurrency && this.#head < queue.length) {
        const job = queue[this.#head] as T;
        queue[this.#head++] = undefined;
        this.#active++;
        this.#start(job);
      }
      if (this.#head === queue.length) {
        if (this.#head > 0) {
          queue.length = 0;
          this.#head = 0;
        }
      } else if (this.#head > 1024 && this.#head * 2 > queue.length) {
        queue.splice(0, this.#head);
        this.#head = 0;
      }
    } finally {
      this.#draining = false;
    }
  }
}
