/** How often a wait re-reads Redis: quick enough for a person, light on Redis. */
export const POLL_INTERVAL_MS = 100;

/**
 * Calls `check` until it returns something other than undefined, and returns
 * that; undefined once `timeoutMs` passed without. `check` runs at least once.
 */
export async function poll<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = POLL_INTERVAL_MS,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, left)));
  }
}
