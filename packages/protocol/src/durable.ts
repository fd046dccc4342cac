/**
 * The order of the durable backlog (`{ns}:backlog`, a sorted set): highest
 * priority first, then oldest. Redis pops the lowest score first, so a task's
 * score puts the inverted priority in the high part and its creation time in
 * the low part of one integer. Every writer of the backlog computes it here,
 * from the priority bounds every task is checked against (`limits.ts`); the
 * store's Lua scripts take these constants rather than spelling them again.
 */
import { ErrorCode, RingcastError } from './errors.js';
import { PRIORITY_MAX, PRIORITY_MIN } from './limits.js';
/**
 * The weight of one priority step in a backlog score, and the bound on a
 * creation time (epoch ms before 2109): the creation time must fit below it,
 * or it would spill into the priority part.
 */
export const BACKLOG_PRIORITY_STEP = 2 ** 42;

/**
 * A task's backlog score: `(PRIORITY_MAX - priority) * 2^42 + createdAt`. It is
 * an exact integer below 2^53 (2001 steps of 2^42 stay under 2^53), so a score
 * survives being a double in Redis and in Lua. Throws `INVALID_OPTIONS` for a
 * priority or creation time outside the bounds.
 */
export function backlogScore(priority: number, createdAt: number): number {
  if (!isValidPriority(priority)) {
    throw new RingcastError(
      ErrorCode.INVALID_OPTIONS,
      `priority must be an integer from ${PRIORITY_MIN} to ${PRIORITY_MAX}, got ${String(priority)}`,
    );
  }
  if (!Number.isInteger(createdAt) || createdAt < 0 || createdAt >= BACKLOG_PRIORITY_STEP) {
    throw new RingcastError(
      ErrorCode.INVALID_OPTIONS,
      `createdAt must be an integer epoch time from 0 to 2^42 - 1 ms, got ${String(createdAt)}`,
    );
  }
  return (PRIORITY_MAX - priority) * BACKLOG_PRIORITY_STEP + createdAt;
}

export function isValidPriority(value: unknown): value is number {
  return (
    typeof value === 'number' &&
    Number.isInteger(value) &&
    value >= PRIORITY_MIN &&
    value <= PRIORITY_MAX
  );
}
