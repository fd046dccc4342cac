/**
 * Checks of the arguments a caller gives `task`, `result` and `cancel`: they
 * come from outside (often a durable id kept somewhere and read back), so a
 * bad one is refused `INVALID_OPTIONS` before the store is asked anything.
 */
import { ErrorCode, isValidId } from '@ringcast/protocol';
import { blankCallOptions, type CallShape, readCallOptions } from '../admission.js';
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

/** `result()` takes a `timeoutMs` for its wait, and nothing else. */
const RESULT_CALL: CallShape = { name: 'result()', options: new Set(['timeoutMs']) };

/**
 * `result()`'s timeout from its options; `fallback` (the dispatcher's
 * `timeoutMs`) when none is given. Checked by dispatch()'s checker, so that a
 * `timeoutMs` means the same in both and an unknown key is refused alike.
 */
export function resultTimeout(options: unknown, fallback: number): number {
  const call = blankCallOptions();
  // `now` only dates a delayMs or runAt, which result() does not take.
  readCallOptions(options, fallback, 0, call, RESULT_CALL);
  return call.timeoutMs;
}
