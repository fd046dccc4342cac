import type { PlannedCall } from './workload.js';

/**
 * The longest a durable run's stored tasks can take to drain once faults stop,
 * with one worker slot left to run them: the liveness check's allowance for a
 * backlog. Stored tasks outlive the workers, so a run may end its faults with
 * most workers crashed and the slots left held by handlers that ignore their
 * signal (a slot is busy until such a handler returns, not until its deadline);
 * every waiting task then runs after the others, one at a time, and a task that
 * keeps its promise can still finish well after the longest single timeout.
 *
 * Each call's every attempt holds a slot for at most its timeout, or for its
 * whole run when its handler ignores the signal. Its attempts are its retries
 * plus one, and one more for the attempt a fault cut short as faults stopped.
 * The sum bounds any order of running them; past it, work is not slow but stuck.
 */
export function serialDrainMs(calls: readonly PlannedCall[]): number {
  let total = 0;
  for (const call of calls) {
    const { mode, delayMs } = call.payload;
    const hold = mode === 'ignore-signal' ? Math.max(call.timeoutMs, delayMs) : call.timeoutMs;
    total += (call.retries + 2) * hold;
  }
  return total;
}
