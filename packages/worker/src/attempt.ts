/**
 * One attempt at a task on this worker, from admission to its final reply, and
 * the `ctx` its handler gets. An attempt is `queued` until a slot runs it,
 * `running` while its handler has not settled, and `done` once its reply is
 * recorded, or once it was dropped (cancelled, drained, shed) while queued.
 */
import type { TaskMessage } from '@ringcast/protocol';
import { WorkerError } from './errors.js';
import type { Handler, HandlerContext } from './options.js';

export type Phase = 'queued' | 'running' | 'done';

export interface Attempt {
  /** Order of arrival, among this worker's attempts. */
  readonly seq: number;
  /**
   * The attempt as its first sender sent it. When that dispatcher gives up on it
   * while another still waits, the other's message takes its place.
   */
  task: TaskMessage;
  /**
   * The same attempt as other dispatchers sent it while it was live: one that
   * adopted the task from the dispatcher that sent it first (durable tasks).
   * Its acks and final reply go to each of them too, within each one's frame
   * limit (at most a few).
   */
  alsoSentBy: TaskMessage[] | undefined;
  /** The hash of the task's token, for the live-attempt table and the finished replies. */
  readonly hash: number;
  readonly handler: Handler;
  phase: Phase;
  acked: boolean;
  /** Made when the handler first reads `ctx.signal`: most handlers never do. */
  controller: AbortController | undefined;
  /** Why the attempt was aborted before anyone asked for its signal. */
  abortReason: unknown;
  /** `performance.now()` when its handler started: its execution time is measured from here. */
  startedAt: number;
}

/** The `ctx` a handler gets; its signal is created only if the handler asks for it. */
export class AttemptContext implements HandlerContext {
  readonly taskId: string;
  readonly attempt: number;
  readonly deadline: number;
  readonly workerId: string;
  readonly #attempt: Attempt;

  constructor(attempt: Attempt, workerId: string) {
    this.#attempt = attempt;
    this.taskId = attempt.task.id;
    this.attempt = attempt.task.attempt;
    this.deadline = attempt.task.deadline;
    this.workerId = workerId;
  }

  get signal(): AbortSignal {
    const attempt = this.#attempt;
    if (!attempt.controller) {
      attempt.controller = new AbortController();
      if (attempt.abortReason !== undefined) attempt.controller.abort(attempt.abortReason);
    }
    return attempt.controller.signal;
  }
}

/** Whether the attempt was aborted already. */
export function isAborted(attempt: Attempt): boolean {
  return attempt.abortReason !== undefined || attempt.controller?.signal.aborted === true;
}

/** The worker's reason for aborting the attempt, if it did. */
export function abortedBy(attempt: Attempt): WorkerError | undefined {
  const reason = attempt.controller?.signal.aborted
    ? attempt.controller.signal.reason
    : attempt.abortReason;
  return reason instanceof WorkerError ? reason : undefined;
}

export function abort(attempt: Attempt, reason: unknown): void {
  if (attempt.controller) {
    if (!attempt.controller.signal.aborted) attempt.controller.abort(reason);
  } else {
    attempt.abortReason ??= reason;
  }
}

/** Whether a handler's return value is to be awaited; a throwing `then` getter counts, so it becomes a rejection. */
export function isThenable(value: unknown): boolean {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  try {
    return typeof (value as { then?: unknown }).then === 'function';
  } catch {
    return true;
  }
}
