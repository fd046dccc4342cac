/**
 * Every clock reading and timer of ringcast's cores goes through a {@link Clock},
 * so that the same cores run on real time in production and on a
 * {@link VirtualClock} in unit tests and the deterministic simulator, where
 * minutes of simulated time pass in milliseconds and nothing sleeps.
 */

/** A pending timer, opaque to its owner. */
export interface Timer {
  readonly __timer: unique symbol;
}

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Runs `callback` once, `ms` from now. Never keeps the process alive on its own. */
  setTimeout(callback: () => void, ms: number): Timer;
  /** Runs `callback` every `ms`. Never keeps the process alive on its own. */
  setInterval(callback: () => void, ms: number): Timer;
  /** Cancels a timer from either method; `undefined` and spent timers are ignored. */
  clearTimer(timer: Timer | undefined): void;
  /** Runs `callback` at the end of this event-loop turn, after the I/O it read. */
  setImmediate(callback: () => void): void;
}

/** Node's own clock and timers; timers are unref'd, so only connections keep a process up. */
export const systemClock: Clock = {
  now: Date.now,
  setTimeout(callback, ms) {
    return setTimeout(callback, ms).unref() as unknown as Timer;
  },
  setInterval(callback, ms) {
    return setInterval(callback, ms).unref() as unknown as Timer;
  },
  clearTimer(timer) {
    if (timer !== undefined) clearTimeout(timer as unknown as NodeJS.Timeout);
  },
  setImmediate(callback) {
    setImmediate(callback);
  },
};
