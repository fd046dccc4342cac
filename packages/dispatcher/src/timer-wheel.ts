import type { Clock, Timer } from '@ringcast/protocol';

/**
 * A member of the wheel. The dispatcher's task records implement it directly,
 * so scheduling a deadline allocates nothing.
 */
export interface WheelEntry {
  wakeAt: number;
  wheelPrev: WheelEntry | undefined;
  wheelNext: WheelEntry | undefined;
  wheelSlot: number;
}

const SLOTS = 1024;
/** Empty turns after which the clock stops (it restarts on the next schedule). */
const IDLE_TICKS = 100;

/**
 * One clock for every deadline: a hashed timing wheel with intrusive lists, so
 * scheduling and cancelling are O(1) and there is no timer per task. Entries
 * further out than one revolution stay in their slot and are skipped until due.
 * The interval runs while anything is scheduled, stops after a second with
 * nothing to do, and never holds the process open.
 */
export class TimerWheel<T extends WheelEntry> {
  readonly #slots: Array<WheelEntry | undefined> = new Array(SLOTS).fill(undefined);
  readonly #clock: Clock;
  readonly #tickMs: number;
  readonly #fire: (entry: T, now: number) => void;
  #size = 0;
  #lastTick = 0;
  #interval: Timer | undefined;
  #idleTicks = 0;

  constructor(clock: Clock, tickMs: number, fire: (entry: T, now: number) => void) {
    this.#clock = clock;
    this.#tickMs = tickMs;
    this.#fire = fire;
  }

  get size(): number {
    return this.#size;
  }

  /** Schedules (or reschedules) `entry` to fire at `wakeAt` (epoch ms). */
  schedule(entry: T, wakeAt: number): void {
    if (entry.wheelSlot >= 0) this.cancel(entry);
    if (this.#size++ === 0 && !this.#interval) this.#start();
    entry.wakeAt = wakeAt;
    // A deadline already past goes into the next tick the clock will visit, not behind it.
    const tick = Math.max(Math.floor(wakeAt / this.#tickMs), this.#lastTick + 1);
    const slot = tick % SLOTS;
    const head = this.#slots[slot];
    entry.wheelSlot = slot;
    entry.wheelPrev = undefined;
    entry.wheelNext = head;
    if (head) head.wheelPrev = entry;
    this.#slots[slot] = entry;
  }

  /** Removes `entry` if it is scheduled. */
  cancel(entry: T): void {
    if (entry.wheelSlot < 0) return;
    const { wheelPrev: prev, wheelNext: next } = entry;
    if (prev) prev.wheelNext = next;
    else this.#slots[entry.wheelSlot] = next;
    if (next) next.wheelPrev = prev;
    entry.wheelPrev = undefined;
    entry.wheelNext = undefined;
    entry.wheelSlot = -1;
    // Under load the wheel empties and refills all the time; the clock stops only when idle a while.
    --this.#size;
  }

  /** Stops the clock and forgets every entry. */
  clear(): void {
    for (let i = 0; i < SLOTS; i++) {
      let entry = this.#slots[i];
      while (entry) {
        const next = entry.wheelNext;
        entry.wheelSlot = -1;
        entry.wheelPrev = undefined;
        entry.wheelNext = undefined;
        entry = next;
      }
      this.#slots[i] = undefined;
    }
    this.#size = 0;
    this.#stop();
  }

  /** Fires every entry due at `now`. Public so tests can drive the clock. */
  advance(now: number): void {
    const nowTick = Math.floor(now / this.#tickMs);
    // After a stall, visit every slot missed since the last turn, but never more than one revolution.
    const from = Math.max(this.#lastTick + 1, nowTick - SLOTS + 1);
    // The current tick is not over: entries due later in it must be found on the next turn.
    this.#lastTick = nowTick - 1;
    let due: T[] | undefined;
    for (let tick = from; tick <= nowTick; tick++) {
      let entry = this.#slots[tick % SLOTS];
      while (entry) {
        const next = entry.wheelNext;
        if (entry.wakeAt <= now) {
          this.cancel(entry as T);
          due ??= [];
          due.push(entry as T);
        }
        entry = next;
      }
    }
    if (!due) return;
    // Fire only after the walk: a callback may move other entries between slots.
    for (const entry of due) {
      // An earlier callback may have rescheduled this entry; then it is not due.
      if (entry.wheelSlot < 0) this.#fire(entry, now);
    }
  }

  #start(): void {
    this.#lastTick = Math.floor(this.#clock.now() / this.#tickMs) - 1;
    this.#idleTicks = 0;
    this.#interval = this.#clock.setInterval(this.#tick, this.#tickMs);
  }

  #tick = (): void => {
    if (this.#size > 0) {
      this.#idleTicks = 0;
      this.advance(this.#clock.now());
    } else if (++this.#idleTicks >= IDLE_TICKS) {
      this.#stop();
    }
  };

  #stop(): void {
    this.#clock.clearTimer(this.#interval);
    this.#interval = undefined;
  }
}
