/**
 * The checker's own reading of durable task records, straight from the model
 * Redis: what state each task is in, and its outcome once terminal. Read
 * independently of the store's decoder, so that a record the dispatcher would
 * misread is still judged by what it holds. Sealed fields (auth.encrypt) are
 * opened with the run's keys; one that cannot be reads as unreadable.
 */
import {
  openField,
  type RecordKeys,
  recordKeys,
  type SealedField,
} from '@ringcast/dispatcher/internal';
import { type MemoryRedis, names } from '@ringcast/protocol';
import type { Outcome } from './checker.js';
import { NAMESPACE } from './deployment-settings.js';

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
export function readRecord(
  redis: MemoryRedis,
  taskId: string,
  keys: RecordKeys = NO_KEYS,
): RecordView | undefined {
  const hash = redis.hgetall(n.taskKey(taskId));
  if (hash['state'] === undefined) return undefined;
  // The run's stop condition reads every awaited record after each event: a record
  // that did not change is not opened (decrypted, parsed) again.
  let views = readViews.get(keys);
  if (!views) {
    views = new Map();
    readViews.set(keys, views);
  }
  const last = views.get(taskId);
  if (last && sameFields(last.hash, hash)) return last.view;
  const read = view(taskId, hash, keys);
  views.set(taskId, { hash, view: read });
  return read;
}

/** The last view of each record read with a run's keys, and the fields it was made of. */
const readViews = new WeakMap<
  RecordKeys,
  Map<string, { hash: Record<string, string>; view: RecordView }>
>();

function sameFields(a: Record<string, string>, b: Record<string, string>): boolean {
  const fields = Object.keys(a);
  if (fields.length !== Object.keys(b).length) return false;
  return fields.every((field) => a[field] === b[field]);
}

const NO_KEYS = recordKeys(undefined);

/** Every task record Redis holds now. */
export function allRecords(redis: MemoryRedis, keys: RecordKeys = NO_KEYS): RecordView[] {
  const records: RecordView[] = [];
  for (const key of redis.keys()) {
    if (!key.startsWith(n.taskKeyPrefix)) continue;
    const record = readRecord(redis, key.slice(n.taskKeyPrefix.length), keys);
    if (record) records.push(record);
  }
  return records;
}

function view(taskId: string, hash: Record<string, string>, keys: RecordKeys): RecordView {
  const state = hash['state'] ?? '';
  const parse = (field: SealedField) => opened(keys, taskId, field, hash[field]);
  const payload = parse('payload') as { call?: unknown } | undefined;
  const call = typeof payload?.call === 'number' ? payload.call : undefined;
  const finishedAt = Number(hash['finishedAt'] ?? Number.NaN);
  if (!TERMINAL.has(state)) return { taskId, call, state, outcome: undefined, finishedAt };
  let outcome: Outcome;
  if (state === 'succeeded') {
    outcome = { ok: true, value: parse('result') };
  } else {
    const error = parse('error') as
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

/** The field's JSON value, opened if sealed; undefined if absent or unreadable. */
function opened(keys: RecordKeys, taskId: string, field: SealedField, stored: string | undefined) {
  if (stored === undefined) return undefined;
  const text = openField(keys, taskId, field, stored);
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
