/**
 * Waiting on a promise in virtual time: the clock runs until it settles.
 * Test-only: excluded from the build.
 */
import type { VirtualClock } from '@ringcast/protocol';

/**
 * A function that runs `clock` until the promise it is given settles (within
 * `limitMs` of virtual time), and gives that promise's outcome.
 */
export function untilSettled(clock: VirtualClock, limitMs = 30_000) {
  return async <T>(p: Promise<T>): Promise<T> => {
    let done = false;
    const watched = p.finally(() => {
      done = true;
    });
    // Observed here, so a rejection is not reported unhandled while the clock runs.
    watched.catch(() => undefined);
    await clock.runUntil(clock.now() + limitMs, () => done);
    return watched;
  };
}
