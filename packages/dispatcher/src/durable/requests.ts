/**
 * The store's operations once their arguments are checked and encoded: what
 * both stores do before touching Redis, so that they refuse the same input
 * with the same typed error and write the same strings. Each store then only
 * applies a request (in Lua, or inside one command of the in-memory model).
 *
 * A new task's record is checked as the store would check it read back: a
 * record is never written that `decodeRecord` would refuse.
 */
import {
  BACKLOG_PRIORITY_STEP,
  backlogScore,
  describeValue,
  ErrorCode,
  isValidId,
  type Names,
  PRIORITY_MAX,
  PRIORITY_MIN,
} from '@ringcast/protocol';
import { encodePayload, MAX_KEY_LENGTH } from '../admission.js';
import { DispatchError } from '../errors.js';
import {
  type DurableRecord,
  encodeRecord,
  MAX_ERROR_MESSAGE,
  MAX_HANDLER_LENGTH,
  type NewRecord,
  type StoredError,
  type TerminalState,
} from './record.js';
import { readStoredError } from './record-decode.js';
import { NO_RECORD_KEYS, type RecordKeys, sealField } from './record-seal.js';
import type { AddOptions, Outcome } from './store.js';

/**
 * Most delayed tasks one `claim` moves to the backlog: a script runs alone in
 * Redis, so a burst of due tasks moves over several calls rather than stalling
 * everyone in one. The earliest due move first.
 */
export const DUE_BATCH = 1_000;
/** Most tasks one `claim` may take. */
export const MAX_CLAIM = 10_000;

/** The error a task cancelled before it started is stored with. */
export const CANCELLED_BEFORE_START: StoredError = {
  code: ErrorCode.CANCELLED,
  message: 'cancelled before it started',
};
/** The error a record that cannot be read is failed with, so it neither runs half-read nor stays active forever. */
export const UNREADABLE: Outcome = {
  state: 'failed',
  error: { code: ErrorCode.INVALID_MESSAGE, message: 'the stored task record could not be read' },
};

/** {@link UNREADABLE}, saying what was wrong (a sealed field with an unknown key, say). */
export function unreadable(problem: string): Outcome {
  if (problem === '') return UNREADABLE;
  return {
    state: 'failed',
    error: {
      code: ErrorCode.INVALID_MESSAGE,
      message: `the stored task record could not be read: ${problem}`.slice(0, MAX_ERROR_MESSAGE),
    },
  };
}

export function invalid(message: string): never {
  throw new DispatchError(ErrorCode.INVALID_OPTIONS, message);
}

/** An epoch time a record can hold (the bound of a backlog score's creation time). */
export function checkNow(now: unknown): number {
  if (typeof now !== 'number' || !Number.isInteger(now) || now < 0 || now >= 2 ** 42) {
    invalid(
      `now must be an integer epoch time in ms from 0 to 2^42 - 1, got ${describeValue(now)}`,
    );
  }
  return now;
}

export function checkInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(`${name} must be an integer from ${min} to ${max}, got ${describeValue(value)}`);
  }
  return value;
}

export function checkId(name: string, value: unknown): string {
  if (!isValidId(value))
    invalid(`${name} must match [A-Za-z0-9_.-]{1,128}, got ${describeValue(value)}`);
  return value;
}

/** Longest registry entry a dispatcher may write (JSON `{ id, incarnation, host, pid, startedAt }`). */
export const MAX_ENTRY_LENGTH = 4_096;
/** Longest incarnation, as a worker's may be. */
export const MAX_INCARNATION_LENGTH = 64;

export function checkText(name: string, value: unknown, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    invalid(`${name} must be a string of 1 to ${max} characters, got ${describeValue(value)}`);
  }
  return value;
}

export function checkClaim(owner: string, n: number, now: number): void {
  checkId('owner', owner);
  checkInteger('n', n, 0, MAX_CLAIM);
  checkNow(now);
}

export function checkStarted(owner: string, attempt: number, worker: string, now: number): void {
  checkId('owner', owner);
  checkInteger('attempt', attempt, 1, Number.MAX_SAFE_INTEGER);
  checkId('worker', worker);
  checkNow(now);
}

export function checkBeat(id: string, entry: string, incarnation: string, ttlMs: number): void {
  checkId('id', id);
  checkText('entry', entry, MAX_ENTRY_LENGTH);
  checkText('incarnation', incarnation, MAX_INCARNATION_LENGTH);
  checkInteger('ttlMs', ttlMs, 1, Number.MAX_SAFE_INTEGER);
}

export function checkAdopt(dead: string, owner: string): void {
  checkId('dead', dead);
  checkId('owner', owner);
  if (dead === owner) invalid(`a dispatcher cannot adopt its own tasks (${dead})`);
}

/** Where a new task goes, and what is written for it. */
export interface AddRequest {
  id: string;
  taskKey: string;
  placement: 'claimed' | 'delayed' | 'waiting';
  /** The claiming dispatcher, for `claimed`. */
  owner: string | undefined;
  /** The sorted-set score: its backlog score when waiting, its runAt when delayed. */
  score: number;
  /** Most tasks that may wait, or undefined for no bound. */
  maxBacklog: number | undefined;
  fields: Record<string, string>;
}

/** The add of `task`, its payload sealed with `keys` when encryption is on. */
export function addRequest(
  names: Names,
  task: NewRecord,
  options: AddOptions,
  keys: RecordKeys = NO_RECORD_KEYS,
): AddRequest {
  if (typeof task !== 'object' || task === null) invalid('a durable task must be an object');
  if (typeof options !== 'object' || options === null) invalid('add options must be an object');
  const now = checkNow(options.now);
  const owner = options.claimBy === undefined ? undefined : checkId('claimBy', options.claimBy);
  const maxBacklog =
    options.maxBacklog === undefined
      ? undefined
      : checkInteger('maxBacklog', options.maxBacklog, 0, Number.MAX_SAFE_INTEGER);
  const delayed = typeof task.runAt === 'number' && task.runAt > now;
  if (delayed && owner !== undefined) invalid('a task due later cannot be claimed at once');
  const placement = owner !== undefined ? 'claimed' : delayed ? 'delayed' : 'waiting';
  const record: DurableRecord = {
    id: task.id,
    handler: task.handler,
    state: placement === 'claimed' ? 'active' : placement,
    priority: task.priority,
    attempts: 0,
    createdAt: now,
    timeoutMs: task.timeoutMs,
    retries: task.retries,
    resultTtlMs: task.resultTtlMs,
    cancelRequested: false,
  };
  if (owner !== undefined) record.owner = owner;
  if (task.runAt !== undefined) record.runAt = task.runAt;
  if (task.expiresAt !== undefined) record.expiresAt = task.expiresAt;
  if (task.key !== undefined) record.key = task.key;
  if (task.trace !== undefined) record.trace = task.trace;
  checkNewRecord(record);
  const fields = encodeRecord(record);
  const payload = task.payloadJson ?? encodePayload(task.payload);
  if (payload !== undefined) fields['payload'] = sealField(keys, record.id, 'payload', payload);
  return {
    id: record.id,
    taskKey: names.taskKey(record.id),
    placement,
    owner,
    score: delayed ? (task.runAt as number) : backlogScore(record.priority, now),
    maxBacklog,
    fields,
  };
}

/**
 * Throws, naming the field, if the store could not read `record` back: the
 * checks `decodeRecord` makes of a new record's values, made on the
 * values themselves (encoding the record and decoding it again cost every add
 * a JSON parse and a dozen string checks). `requests.test.ts` holds the two to
 * one verdict over random records.
 */
export function checkNewRecord(record: DurableRecord): void {
  if (!isValidId(record.id)) bad('id', record.id);
  const { handler, key } = record;
  if (typeof handler !== 'string' || handler.length === 0 || handler.length > MAX_HANDLER_LENGTH) {
    bad('handler', handler);
  }
  if (!isIntegerIn(record.priority, PRIORITY_MIN, PRIORITY_MAX)) bad('priority', record.priority);
  if (!isIntegerIn(record.createdAt, 0, BACKLOG_PRIORITY_STEP - 1)) {
    bad('createdAt', record.createdAt);
  }
  if (!isIntegerIn(record.timeoutMs, 0)) bad('timeoutMs', record.timeoutMs);
  if (!isIntegerIn(record.retries, 0)) bad('retries', record.retries);
  if (!isIntegerIn(record.resultTtlMs, 1)) bad('resultTtlMs', record.resultTtlMs);
  if (record.runAt !== undefined && !isIntegerIn(record.runAt, 0)) bad('runAt', record.runAt);
  if (record.expiresAt !== undefined && !isIntegerIn(record.expiresAt, 0)) {
    bad('expiresAt', record.expiresAt);
  }
  if (
    key !== undefined &&
    (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH)
  ) {
    bad('key', key);
  }
  if (record.owner !== undefined && !isValidId(record.owner)) bad('owner', record.owner);
}

function isIntegerIn(value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}

function bad(field: string, value: unknown): never {
  invalid(`the durable task's ${field} is not valid, got ${describeValue(value)}`);
}

/** A terminal write, encoded. */
export interface SettleRequest {
  id: string;
  taskKey: string;
  owner: string | undefined;
  state: TerminalState;
  /** The field the outcome goes to, or undefined for a success without a value. */
  field: 'result' | 'error' | undefined;
  value: string;
  now: number;
}

export function settleRequest(
  names: Names,
  id: string,
  owner: string | undefined,
  outcome: Outcome,
  now: number,
  keys: RecordKeys = NO_RECORD_KEYS,
): SettleRequest {
  const taskKey = names.taskKey(id);
  if (owner !== undefined) checkId('owner', owner);
  checkNow(now);
  if (typeof outcome !== 'object' || outcome === null) invalid('an outcome must be an object');
  const base = { id, taskKey, owner, now };
  if (outcome.state === 'succeeded') {
    if (owner === undefined) invalid('only its owner can settle a task as succeeded');
    const value = resultJson(outcome.result);
    return value === undefined
      ? { ...base, state: 'succeeded', field: undefined, value: '' }
      : {
          ...base,
          state: 'succeeded',
          field: 'result',
          value: sealField(keys, id, 'result', value),
        };
  }
  if (outcome.state !== 'failed' && outcome.state !== 'cancelled') {
    invalid(
      `an outcome's state must be succeeded, failed or cancelled, got ${describeValue((outcome as { state?: unknown }).state)}`,
    );
  }
  const error = sealField(keys, id, 'error', errorJson(outcome.error));
  return { ...base, state: outcome.state, field: 'error', value: error };
}

function resultJson(result: unknown): string | undefined {
  let json: string | undefined;
  try {
    json = JSON.stringify(result);
  } catch (error) {
    throw new DispatchError(ErrorCode.INVALID_MESSAGE, 'the result is not JSON-serialisable', {
      cause: error,
    });
  }
  return json;
}

/** The error's JSON text, with its message cut to what a record holds; refused unless it reads back. */
export function errorJson(error: StoredError): string {
  if (typeof error !== 'object' || error === null) invalid('an outcome needs an error');
  if (typeof error.message !== 'string') invalid("an outcome's error needs a message");
  const stored: StoredError = {
    code: error.code,
    message: error.message.slice(0, MAX_ERROR_MESSAGE),
  };
  if (error.remote !== undefined) stored.remote = error.remote;
  const json = JSON.stringify(stored);
  if (readStoredError(JSON.parse(json)) === undefined) {
    invalid(
      `an outcome's error must carry a known code and a message, got code ${describeValue(error.code)}`,
    );
  }
  return json;
}
