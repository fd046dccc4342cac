/**
 * Events per second over the last minute, in a ring of per-second counters:
 * fixed memory, and counting an event is one comparison and one increment
 * (plus zeroing the seconds that passed, at most 60, when a new second starts).
 */

/** 60 whole seconds and the current one. */
const SLOTS = 61;

export interface Throughput {
  /** Events in the last whole second. */
  lastSecond: number;
  /** Events in the last 60 whole seconds. */
  lastMinute: number;
}

export class RateWindow {
  readonly #slots = new Float64Array(SLOTS);
  /** The second (epoch ms / 1000, floored) the newest slot counts. */
  #second = 0;

  /** Counts one event at `nowMs` (epoch ms). */
  add(nowMs: number): void {
    let second = Math.floor(nowMs / 1000);
    if (second > this.#second) this.#advance(second);
    // A clock that stepped back counts in the newest second.
    else if (second < this.#second) second = this.#second;
    this.#slots[second % SLOTS]!++;
  }

  /** The counts of whole seconds before `nowMs`. */
  read(nowMs: number): Throughput {
    const second = Math.max(Math.floor(nowMs / 1000), this.#second);
    if (second > this.#second) this.#advance(second);
    const slots = this.#slots;
    let minute = 0;
    for (let s = 1; s < SLOTS; s++) minute += slots[(second - s + SLOTS) % SLOTS]!;
    return { lastSecond: slots[(second - 1 + SLOTS) % SLOTS]!, lastMinute: minute };
  }

  #advance(second: number): void {
    const gap = Math.min(second - this.#second, SLOTS);
    for (let s = 1; s <= gap; s++) this.#slots[(this.#second + s) % SLOTS] = 0;
    this.#second = second;
  }
}
