import type { Clock, Timer } from './clock.js';
import type { ProcessGate } from './memory-connection.js';
import type { VirtualClock } from './virtual-clock.js';

/**
 * One simulated process's view of the shared VirtualClock, and the gate through
 * which Redis reaches it (its connections run replies, messages and events
 * through {@link run}):
 * - readings can be skewed (`clock-skew`: deadlines travel as epoch ms, so a
 *   process whose clock is off judges them wrongly);
 * - the process can be killed (`worker-crash`): every timer it set is cancelled
 *   and nothing it schedules or receives later ever runs, as after SIGKILL;
 * - it can be frozen for a while (`worker-pause`, `worker-block`): nothing of it
 *   runs meanwhile — timers, immediates, replies, messages wait — and then what
 *   waited runs in order, an interval once however many periods it missed, as
 *   Node runs a loop that was stopped or blocked.
 *
 * A worker has a second one, its heartbeat thread ({@link thread}): it shares the
 * process's clock reading and its death, and freezes only when the whole
 * process does (a pause), not when the main loop is blocked.
 */
export class ProcessClock implements Clock, ProcessGate {
  readonly #base: VirtualClock;
  readonly #parent: ProcessClock | undefined;
  readonly #children: ProcessClock[] = [];
  readonly #timers = new Set<Timer>();
  #dead = false;
  /** World time until which nothing of this process runs. */
  #frozenUntil = 0;
  /** Since when it has been frozen (world time), for how long its loop was blocked. */
  #frozenSince = 0;
  /** What waits for the thaw, in order; an interval's callback appears at most once. */
  #waiting: Array<() => void> = [];
  readonly #waitingIntervals = new Set<Timer>();
  /** When each interval last ran at a thaw. */
  readonly #thawedAt = new Map<Timer, number>();
  #skew = 0;

  constructor(base: VirtualClock, parent?: ProcessClock) {
    this.#base = base;
    this.#parent = parent;
  }

  /** Milliseconds this process's readings are ahead (negative: behind) of the world's. */
  get skew(): number {
    return this.#parent ? this.#parent.skew : this.#skew;
  }

  set skew(ms: number) {
    if (this.#parent) this.#parent.skew = ms;
    else this.#skew = ms;
  }

  /** A thread of this process: the same clock reading and death, frozen on its own. */
  thread(): ProcessClock {
    const child = new ProcessClock(this.#base, this);
    if (this.#dead) child.kill();
    this.#children.push(child);
    return child;
  }

  get dead(): boolean {
    return this.#dead;
  }

  /** Whether the process is frozen now. */
  get frozen(): boolean {
    return this.#base.now() < this.#frozenUntil;
  }

  /** How long it has been frozen (0 when it runs): a blocked loop's age. */
  get frozenMs(): number {
    return this.frozen ? this.#base.now() - this.#frozenSince : 0;
  }

  now(): number {
    return this.#base.now() + this.skew;
  }

  /** Monotonic nanoseconds, as `process.hrtime.bigint()`: skew does not move them. */
  hrtime(): bigint {
    return BigInt(Math.round(this.#base.now() * 1_000)) * 1_000n;
  }

  setTimeout(callback: () => void, ms: number): Timer {
    const timer = this.#base.setTimeout(() => {
      // Due while frozen, it waits; cleared meanwhile, it does not run (as in Node).
      this.run(() => {
        if (this.#timers.delete(timer)) callback();
      });
    }, ms);
    if (!this.#dead) this.#timers.add(timer);
    else this.#base.clearTimer(timer);
    return timer;
  }

  setInterval(callback: () => void, ms: number): Timer {
    const timer = this.#base.setInterval(() => {
      if (this.#dead || this.#waitingIntervals.has(timer)) return;
      if (!this.frozen) {
        // Not twice in one instant: the thaw may have just run its missed period.
        if (this.#thawedAt.get(timer) !== this.#base.now()) callback();
        return;
      }
      this.#waitingIntervals.add(timer);
      this.#waiting.push(() => {
        this.#waitingIntervals.delete(timer);
        // Cleared while it waited: it does not fire.
        if (!this.#timers.has(timer)) return;
        this.#thawedAt.set(timer, this.#base.now());
        callback();
      });
    }, ms);
    if (!this.#dead) this.#timers.add(timer);
    else this.#base.clearTimer(timer);
    return timer;
  }

  clearTimer(timer: Timer | undefined): void {
    if (timer === undefined) return;
    this.#base.clearTimer(timer);
    this.#timers.delete(timer);
    this.#thawedAt.delete(timer);
  }

  setImmediate(callback: () => void): void {
    if (this.#dead) return;
    this.#base.setImmediate(() => this.run(callback));
  }

  /** Runs `callback` now, after the thaw if frozen, or never if dead. */
  run(callback: () => void): void {
    if (this.#dead) return;
    if (this.frozen) this.#waiting.push(callback);
    else callback();
  }

  /** Nothing of the process runs for `ms`; then what waited runs, in order. */
  freeze(ms: number): void {
    if (this.#dead || ms <= 0) return;
    const now = this.#base.now();
    if (!this.frozen) this.#frozenSince = now;
    const until = Math.max(this.#frozenUntil, now + ms);
    if (until === this.#frozenUntil) return;
    this.#frozenUntil = until;
    this.#base.setTimeout(() => this.#thaw(until), until - now);
  }

  /** Ends a freeze now: what waited runs. */
  thaw(): void {
    if (!this.frozen) return;
    const until = this.#base.now();
    this.#frozenUntil = until;
    this.#thaw(until);
  }

  #thaw(until: number): void {
    // A later freeze extended this one: its own timer thaws.
    if (until !== this.#frozenUntil || this.#dead) return;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const callback of waiting) {
      if (this.#dead) return;
      if (this.frozen) this.#waiting.push(callback);
      else callback();
    }
  }

  /** The process dies: its timers never fire, it can set no new ones, and nothing reaches it. */
  kill(): void {
    this.#dead = true;
    for (const timer of this.#timers) this.#base.clearTimer(timer);
    this.#timers.clear();
    this.#waiting = [];
    this.#waitingIntervals.clear();
    for (const child of this.#children) child.kill();
  }

  /** Timers of this process (and its threads) still set. */
  get timers(): number {
    return this.#timers.size + this.#children.reduce((n, child) => n + child.timers, 0);
  }
}
