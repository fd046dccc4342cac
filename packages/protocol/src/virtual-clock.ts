import type { Clock, Timer } from './clock.js';

interface Entry {
  at: number;
  /** Scheduling order: entries due at the same time run first-scheduled first. */
  seq: number;
  callback: () => void;
  /** Repeat period for intervals; 0 for a one-shot timer. */
  every: number;
  cancelled: boolean;
}

/** Lets promise continuations (microtasks) run, as they would between two real events. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A clock whose time moves only when told to. Events run one at a time in a
 * fixed order (due time, then scheduling order; immediates before any later
 * timer), and every promise continuation an event starts runs before the next
 * event, as on a real event loop. Nothing here reads real time, so a run is the
 * same, event for event, every time it is replayed.
 */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  /** Binary min-heap ordered by (at, seq). */
  readonly #heap: Entry[] = [];
  #immediates: Array<() => void> = [];
  /** The error an event threw, kept for {@link run} to rethrow. */
  #failure: { error: unknown } | undefined;

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): Timer {
    return this.#schedule(callback, ms, 0) as unknown as Timer;
  }

  setInterval(callback: () => void, ms: number): Timer {
    return this.#schedule(callback, ms, Math.max(1, ms)) as unknown as Timer;
  }

  clearTimer(timer: Timer | undefined): void {
    if (timer !== undefined) (timer as unknown as Entry).cancelled = true;
  }

  setImmediate(callback: () => void): void {
    this.#immediates.push(callback);
  }

  /** Events waiting: immediates and live timers. */
  get pending(): number {
    let n = this.#immediates.length;
    for (const entry of this.#heap) if (!entry.cancelled) n++;
    return n;
  }

  /**
   * Runs every event due within the next `ms`, in order, and leaves the clock
   * at now + `ms`. Rethrows the first error an event threw.
   */
  async advance(ms: number): Promise<void> {
    await this.runUntil(this.#now + ms);
  }

  /** Runs events until the clock reads `time` (or stops earlier when `stop` says so). */
  async runUntil(time: number, stop?: () => boolean): Promise<void> {
    await settle();
    for (;;) {
      this.#throwFailure();
      if (stop?.()) return;
      if (this.#immediates.length > 0) {
        const batch = this.#immediates;
        this.#immediates = [];
        for (const callback of batch) this.#call(callback);
        await settle();
        continue;
      }
      const next = this.#peek();
      if (next === undefined || next.at > time) break;
      this.#pop();
      this.#now = Math.max(this.#now, next.at);
      if (next.every > 0) {
        next.at = this.#now + next.every;
        next.seq = this.#seq++;
        this.#push(next);
      }
      this.#call(next.callback);
      await settle();
    }
    this.#now = Math.max(this.#now, time);
    this.#throwFailure();
  }

  #call(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.#failure ??= { error };
    }
  }

  #throwFailure(): void {
    const failure = this.#failure;
    if (failure) {
      this.#failure = undefined;
      throw failure.error;
    }
  }

  #schedule(callback: () => void, ms: number, every: number): Entry {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const entry: Entry = {
      at: this.#now + delay,
      seq: this.#seq++,
      callback,
      every,
      cancelled: false,
    };
    this.#push(entry);
    return entry;
  }

  #peek(): Entry | undefined {
    while (this.#heap.length > 0 && this.#heap[0]!.cancelled) this.#pop();
    return this.#heap[0];
  }

  #push(entry: Entry): void {
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): Entry | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
