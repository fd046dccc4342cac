/**
 * Checks of the arguments a caller gives `task`, `result` and `cancel`: they
 * come from outside (often a durable id kept somewhere and read back), so a
 * bad one is refused `INVALID_OPTIONS` before the store is asked anything.
 */
import { ErrorCode, isValidId } from '@ringcast/protocol';
import { DispatchError } from '../errors.js';

export function checkTaskId(id: unknown): string {
  if (!isValidId(id)) {
    throw new DispatchError(
      ErrorCode.INVALID_OPTIONS,
      'a durable task id is 1 to 128 of [A-Za-z0-9_.-], as submit() returned it',
    );
  }
  return id;
}

/** `result()`'s timeout from its options; `fallback` (the dispatcher's `timeoutMs`) when none is given. */
export function resultTimeout(options: unknown, fallback: number): number {
  if (options === undefined) return fallback;
  let timeoutMs: unknown;
  try {
    if (typeof options !== 'object' || options === null) throw new TypeError('not an object');
    timeoutMs = (options as { timeoutMs?: unknown }).timeoutMs;
  } catch {
    throw new DispatchError(ErrorCode.INVALID_OPTIONS, 'result() options must be { timeoutMs? }');
  }
  if (timeoutMs === undefined) return fallback;
  if (
    typeof timeoutMs !== 'number' ||
    !Number.isInteger(timeoutMs) ||
    timeoutMs < 1 ||
    timeoutMs > 2_147_483_647
  ) {
    throw new DispatchError(
      ErrorCode.INVALID_OPTIONS,
      'result() timeoutMs must be an integer from 1 to 2147483647',
    );
  }
  return timeoutMs;
}
