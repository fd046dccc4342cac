import type { Clock } from '@ringcast/protocol';

/** Resolves after `ms` on `clock`. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/** Resolves with the promise's value, or undefined after `ms` on `clock`; never rejects. */
export function within<T>(clock: Clock, promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = clock.setTimeout(() => resolve(undefined), ms);
    promise.then(
      (value) => {
        clock.clearTimer(timer);
        resolve(value);
      },
      () => {
        clock.clearTimer(timer);
        resolve(undefined);
      },
    );
  });
}
