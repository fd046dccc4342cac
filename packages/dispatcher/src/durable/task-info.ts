/**
 * What `task(id)` shows of a durable task, read from its record, and how a
 * stored outcome becomes what `result(id)` and a durable `dispatch()` settle
 * with: the value, or a `DispatchError` with the stored code.
 */
import type { RemoteError } from '@ringcast/protocol';
import { DispatchError } from '../errors.js';
import type { DurableRecord, StoredError, TaskState } from './record.js';

/** A durable task's state: `delayed` → `waiting` → `active` → `succeeded` | `failed` | `cancelled`. */
export type TaskStateName = TaskState;

/** A durable task as `task(id)` shows it. */
export interface TaskInfo {
  id: string;
  handler: string;
  state: TaskStateName;
  /** Attempts started, over every dispatcher that owned it. */
  attempts: number;
  /** The worker of the last attempt started. */
  worker: string | undefined;
  priority: number;
  /** Epoch ms. */
  createdAt: number;
  /** When its first attempt started (epoch ms). */
  startedAt: number | undefined;
  /** When it reached its terminal state (epoch ms). */
  finishedAt: number | undefined;
  /** A success's value. */
  result: unknown;
  /** How it failed or was cancelled. */
  error: { code: StoredError['code']; message: string; remote?: RemoteError } | undefined;
  /**
   * Only from `readTask` without the keys a field was sealed with: the sealed
   * fields it left out (`payload`, `result`, `error`), each with why it could
   * not open them. `task(id)` never sets it.
   */
  encrypted?: Partial<Record<'payload' | 'result' | 'error', string>>;
}

export function taskInfo(record: DurableRecord): TaskInfo {
  return {
    id: record.id,
    handler: record.handler,
    state: record.state,
    attempts: record.attempts,
    worker: record.worker,
    priority: record.priority,
    createdAt: record.createdAt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    result: record.result,
    error: record.error === undefined ? undefined : { ...record.error },
  };
}

/** A finished task's outcome, as its waiters get it. */
export type Settled = { ok: true; value: unknown } | { ok: false; error: StoredError };

/** The outcome of a finished record; undefined while it has not finished. */
export function settledOf(record: DurableRecord): Settled | undefined {
  if (record.state === 'succeeded') return { ok: true, value: record.result };
  if (record.state === 'failed' || record.state === 'cancelled') {
    const error = record.error ?? {
      code: record.state === 'cancelled' ? 'CANCELLED' : 'INVALID_MESSAGE',
      message: `the task ${record.state} without a stored error`,
    };
    return { ok: false, error: error as StoredError };
  }
  return undefined;
}

/** The rejection a stored error stands for. */
export function errorOf(error: StoredError): DispatchError {
  return new DispatchError(error.code, error.message, error.remote ? { remote: error.remote } : {});
}
