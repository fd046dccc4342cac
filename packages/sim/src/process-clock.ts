import type { Clock, Timer, VirtualClock } from '@ringcast/protocol';

/**
 * One simulated process's view of the shared VirtualClock: readings can be
 * skewed (`clock-skew`: deadlines travel as epoch ms, so a process whose clock
 * is off judges them wrongly), and the process can be killed (`worker-crash`):
 * every timer it set is cancelled and nothing it schedules later ever runs, so
 * it beats no more and sends nothing more, as a process killed by SIGKILL.
 */
export class ProcessClock implements Clock {
  readonly #base: VirtualClock;
  readonly #timers = new Set<Timer>();
  #dead = false;
  /** Milliseconds this process's readings are ahead (negative: behind) of the world's. */
  skew = 0;

  constructor(base: VirtualClock) {
    this.#base = base;
  }

  get dead(): boolean {
    return this.#dead;
  }

  now(): number {
    return this.#base.now() + this.skew;
  }

  setTimeout(callback: () => void, ms: number): Timer {
    const timer = this.#base.setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#dead) callback();
    }, ms);
    if (!this.#dead) this.#timers.add(timer);
    else this.#base.clearTimer(timer);
    return timer;
  }

  setInterval(callback: () => void, ms: number): Timer {
    const timer = this.#base.setInterval(() => {
      if (!this.#dead) callback();
    }, ms);
    if (!this.#dead) this.#timers.add(timer);
    else this.#base.clearTimer(timer);
    return timer;
  }

  clearTimer(timer: Timer | undefined): void {
    if (timer === undefined) return;
    this.#base.clearTimer(timer);
    this.#timers.delete(timer);
  }

  setImmediate(callback: () => void): void {
    if (this.#dead) return;
    this.#base.setImmediate(() => {
      if (!this.#dead) callback();
    });
  }

  /** The process dies: its timers never fire and it can set no new ones. */
  kill(): void {
    this.#dead = true;
    for (const timer of this.#timers) this.#base.clearTimer(timer);
    this.#timers.clear();
  }

  /** Timers of this process still set. */
  get timers(): number {
    return this.#timers.size;
  }
}
