/**
 * The store writes in flight, retries included, so that `close()` can wait for
 * them — a task that finished during the drain must have its outcome stored —
 * and then abandon the rest, whose tasks stay active in Redis for another
 * dispatcher to adopt.
 */
import type { Clock, Timer } from '@ringcast/protocol';

export class StoreWrites {
  readonly #clock: Clock;
  readonly #pending = new Set<Promise<unknown>>();
  /** Retries waiting for their next try: woken at once when the writes are abandoned. */
  readonly #pauses = new Map<Timer, () => void>();
  #abandoned = false;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get abandoned(): boolean {
    return this.#abandoned;
  }

  /** Adds `promise` to what `drain()` waits for; returns it. */
  track<T>(promise: Promise<T>): Promise<T> {
    this.#pending.add(promise);
    const done = () => this.#pending.delete(promise);
    promise.then(done, done);
    return promise;
  }

  /** Waits `ms` before a write is tried again; false if the writes were abandoned meanwhile. */
  pause(ms: number): Promise<boolean> {
    if (this.#abandoned) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = this.#clock.setTimeout(() => {
        this.#pauses.delete(timer);
        resolve(!this.#abandoned);
      }, ms);
      this.#pauses.set(timer, () => resolve(false));
    });
  }

  /** Waits up to `waitMs` for every write in flight (and those they lead to), then abandons the rest. */
  async drain(waitMs: number): Promise<void> {
    const clock = this.#clock;
    let timer: Timer | undefined;
    const timedOut = new Promise<true>((resolve) => {
      timer = clock.setTimeout(() => resolve(true), waitMs);
    });
    while (this.#pending.size > 0) {
      const late = await Promise.race([
        Promise.allSettled([...this.#pending]).then(() => false),
        timedOut,
      ]);
      if (late) break;
    }
    clock.clearTimer(timer);
    this.#abandoned = true;
    for (const [pause, wake] of this.#pauses) {
      clock.clearTimer(pause);
      wake();
    }
    this.#pauses.clear();
  }
}
