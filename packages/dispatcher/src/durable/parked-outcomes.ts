/**
 * The outcomes hidden in replies parked for a dispatcher that is gone: a worker
 * that finished a task of a dead dispatcher found nobody on its reply channel
 * and parked the result. The adopter settles those tasks from them instead of
 * running them again.
 *
 * Any attempt's result will do: each is a whole run of the task's handler, and
 * only the dead dispatcher's attempts reply to its channel. A success wins over
 * a failure; a failure another run could mend (retryable with retries allowed,
 * cut short by its worker's shutdown, or cancelled) is no outcome: the task runs
 * again (or is cancelled, if a cancel was requested).
 */
import { decode, ErrorCode, type ResultMessage } from '@ringcast/protocol';
import { handlerFailed, isCancelAbort, isDeadlineAbort, isShutdownAbort } from '../replies.js';
import type { DurableRecord } from './record.js';
import type { Outcome } from './store.js';

/** The outcome each of `records` (by id) has in `frames`, for those that have one. */
export function parkedOutcomes(
  frames: readonly string[],
  records: ReadonlyMap<string, DurableRecord>,
  maxBytes: number,
): Map<string, Outcome> {
  const outcomes = new Map<string, Outcome>();
  for (const frame of frames) {
    const decoded = decode(frame, { maxBytes });
    if (!decoded.ok) continue;
    for (const message of decoded.messages) {
      if (message.kind !== 'result') continue;
      const record = records.get(message.id);
      if (record === undefined || outcomes.get(message.id)?.state === 'succeeded') continue;
      const outcome = outcomeOf(message, record);
      if (outcome) outcomes.set(message.id, outcome);
    }
  }
  return outcomes;
}

function outcomeOf(result: ResultMessage, record: DurableRecord): Outcome | undefined {
  if (result.ok) return { state: 'succeeded', result: result.value };
  const error = result.error;
  if (isDeadlineAbort(error)) {
    const message = `task did not settle within its timeout on worker ${result.worker}`;
    return { state: 'failed', error: { code: ErrorCode.TIMEOUT, message } };
  }
  // Cut short by its worker's shutdown, or cancelled (then the record says whether a
  // cancel was requested, and running it again writes that): another run decides.
  if ((error.retryable && record.retries > 0) || isShutdownAbort(error) || isCancelAbort(error)) {
    return undefined;
  }
  const message = handlerFailed(record.handler, error);
  return { state: 'failed', error: { code: ErrorCode.HANDLER_ERROR, message, remote: error } };
}
