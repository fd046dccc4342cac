/**
 * The checker's own reading of durable task records, straight from the model
 * Redis: what state each task is in, and its outcome once terminal. Read
 * independently of the store's decoder, so that a record the dispatcher would
 * misread is still judged by what it holds.
 */
import { type MemoryRedis, names } from '@ringcast/protocol';
import type { Outcome } from './checker.js';
import { NAMESPACE } from './world.js';

const n = names(NAMESPACE);
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

export interface RecordView {
  taskId: string;
  /** The call its payload names; undefined if it names none. */
  call: number | undefined;
  state: string;
  /** Its outcome, once terminal. */
  outcome: Outcome | undefined;
  finishedAt: number;
}

/** Task `taskId`'s record, or undefined if there is none (never stored, or expired). */
export function readRecord(redis: MemoryRedis, taskId: string): RecordView | undefined {
  const hash = redis.hgetall(n.taskKey(taskId));
  if (hash['state'] === undefined) return undefined;
  return view(taskId, hash);
}

/** Every task record Redis holds now. */
export function allRecords(redis: MemoryRedis): RecordView[] {
  const records: RecordView[] = [];
  for (const key of redis.keys()) {
    if (!key.startsWith(n.taskKeyPrefix)) continue;
    const record = readRecord(redis, key.slice(n.taskKeyPrefix.length));
    if (record) records.push(record);
  }
  return records;
}

function view(taskId: string, hash: Record<string, string>): RecordView {
  const state = hash['state'] ?? '';
  const payload = parse(hash['payload']) as { call?: unknown } | undefined;
  const call = typeof payload?.call === 'number' ? payload.call : undefined;
  const finishedAt = Number(hash['finishedAt'] ?? Number.NaN);
  if (!TERMINAL.has(state)) return { taskId, call, state, outcome: undefined, finishedAt };
  let outcome: Outcome;
  if (state === 'succeeded') {
    outcome = { ok: true, value: parse(hash['result']) };
  } else {
    const error = parse(hash['error']) as
      | { code?: unknown; message?: unknown; remote?: { name?: unknown; code?: unknown } }
      | undefined;
    const code = typeof error?.code === 'string' ? error.code : 'UNREADABLE_ERROR';
    // A run its worker aborted because a dispatcher cancelled it, stored as the task's failure.
    const cancelledRun = error?.remote?.name === 'WorkerError' && error.remote.code === 'CANCELLED';
    outcome = {
      ok: false,
      code: cancelledRun ? 'CANCELLED_RUN' : code,
      message: String(error?.message),
    };
  }
  return { taskId, call, state, outcome, finishedAt };
}

function parse(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
