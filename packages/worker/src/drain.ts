/**
 * The graceful close: every attempt held here gets its answer before the worker
 * leaves, then the worker leaves the ring, then running handlers get
 * `drainTimeoutMs` to finish (and are aborted, reason `CLOSED`, after it), then
 * the replies under way are given a moment to go out.
 *
 * The order matters: a dispatcher re-routes at once every attempt it has not
 * seen acknowledged when the leave arrives. So before the leave, queued attempts
 * get a `DRAINING` nack (they will run elsewhere) and running ones their ack
 * (they finish here); those replies are published ahead of the leave on the same
 * connection, so Redis delivers them to each dispatcher first.
 */
import { type Clock, ErrorCode, type FieldLogger, NackReason } from '@ringcast/protocol';
import type { Admission } from './admission.js';
import { WorkerError } from './errors.js';
import type { Executor } from './executor.js';
import type { Replies } from './replies.js';
import type { WorkerCounters } from './stats.js';
import { within } from './wait.js';

/** How long each step that waits on Redis may take before close goes on without it. */
export const CLOSE_STEP_MS = 2_000;
const ABORT_GRACE_MS = 1_000;

export interface DrainParts {
  drainTimeoutMs: number;
  logger: FieldLogger;
  clock: Clock;
  stats: WorkerCounters;
  admission: Pick<Admission, 'refuseQueued'>;
  executor: Pick<Executor, 'whenIdle' | 'abortRunning'>;
  replies: Pick<Replies, 'flushAcks' | 'flush' | 'drained'>;
  /** Leaves the ring: announces it and removes the registration. */
  leave(): Promise<unknown>;
}

export async function drain(parts: DrainParts): Promise<void> {
  const { clock, stats, executor, replies } = parts;
  // close() may be called from a handler while its frame is still being taken
  // in; the rest of that frame is nacked, and what it started must be known.
  await Promise.resolve();
  parts.admission.refuseQueued(NackReason.DRAINING, 'the worker is shutting down');
  replies.flushAcks();
  replies.flush();

  await within(clock, parts.leave(), CLOSE_STEP_MS);

  if (stats.inflight > 0 && !(await executor.whenIdle(parts.drainTimeoutMs))) {
    parts.logger.warn(
      `${stats.inflight} handler(s) still running after ${parts.drainTimeoutMs} ms; aborting them`,
      { inflight: stats.inflight, drainTimeoutMs: parts.drainTimeoutMs, code: ErrorCode.CLOSED },
    );
    executor.abortRunning(new WorkerError(ErrorCode.CLOSED, 'the worker is shutting down'));
    await executor.whenIdle(ABORT_GRACE_MS);
  }

  await within(clock, replies.drained(), CLOSE_STEP_MS);
}
