/**
 * Reading a durable task's record (`record.ts`) back from its hash without
 * trusting it: anything in Redis may have been written by another version, by
 * hand, or only in part, so a record that does not hold together reads as
 * undefined and its first bad field is counted, never thrown. Both layouts
 * read: the packed one (`spec`, `record-spec.ts`) and the one before it.
 *
 * A trace context that does not validate is read as none: the task runs
 * untraced rather than not at all. Records from before tracing have none.
 */
import {
  BACKLOG_PRIORITY_STEP,
  checkEncodedMessage,
  describeUnopened,
  ErrorCode,
  isValidId,
  PRIORITY_MAX,
  PRIORITY_MIN,
  type RemoteError,
  readTraceContext,
  type UnopenedValue,
} from '@ringcast/protocol';
import { MAX_KEY_LENGTH } from '../admission.js';
import {
  type DurableRecord,
  isTerminal,
  MAX_ERROR_MESSAGE,
  MAX_HANDLER_LENGTH,
  type StoredError,
  TASK_STATES,
  type TaskState,
} from './record.js';
import { NO_RECORD_KEYS, openField, type RecordKeys, type SealedField } from './record-seal.js';
import { BadSpec, SPEC_FIELD, specFields } from './record-spec.js';

/**
 * Counts records that could not be read, by the first field that was wrong
 * (a bounded set of names, so the counts stay small whatever Redis holds).
 */
export class MalformedRecords {
  readonly #byField = new Map<string, number>();
  /** What was wrong with the record counted last, for the error a reader gets. */
  lastProblem = '';

  count(field: string, problem = `its field ${JSON.stringify(field)} is malformed`): void {
    this.#byField.set(field, (this.#byField.get(field) ?? 0) + 1);
    this.lastProblem = problem;
  }

  get total(): number {
    let total = 0;
    for (const n of this.#byField.values()) total += n;
    return total;
  }

  /** Counts by field. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#byField);
  }
}

/** Thrown inside {@link decodeRecord} only, to name the field that failed. */
class BadField {
  constructor(
    readonly field: string,
    readonly problem?: string,
  ) {}
}

/** A sealed field that could not be opened. */
class SealedFieldUnopened extends BadField {}

/** Sealed fields a reader without their key leaves out of the record, with why. */
export type UnopenedFields = Map<SealedField, UnopenedValue>;

const STATES = new Set<string>(TASK_STATES);
const ERROR_CODES = new Set<string>(Object.values(ErrorCode));
/** Decimal integers as the store writes them: no sign on zero, no leading zeros, no exponent. */
const INTEGER = /^(?:0|-?[1-9][0-9]{0,15})$/;

/**
 * Reads a record's hash. Undefined for an empty hash (no record) and for one
 * that does not hold together, which is counted in `malformed` under the field
 * that failed; `id`, when given, is the id the record must carry (the one its
 * key was found under): a packed record (`spec`) does not carry it, and reads
 * only with it. Sealed fields are opened with `keys`; one that cannot
 * be makes the record unreadable, unless `unopened` is given: then it is left
 * out of the record and noted there (for tools that show what they can).
 * Never throws.
 */
export function decodeRecord(
  hash: Readonly<Record<string, string>>,
  malformed: MalformedRecords,
  id?: string,
  keys: RecordKeys = NO_RECORD_KEYS,
  unopened?: UnopenedFields,
): DurableRecord | undefined {
  if (Object.keys(hash).length === 0) return undefined;
  try {
    return readRecord(unpacked(hash, id), id, keys, unopened);
  } catch (error) {
    if (error instanceof BadField) malformed.count(error.field, error.problem);
    else malformed.count('record');
    return undefined;
  }
}

// Read on every claim: plain functions and one object, no closures or copies per record.
type Hash = Readonly<Record<string, string>>;

/**
 * A packed record (`spec`) as the fields of the layout before it, which
 * {@link readRecord} checks; a record of that layout as it is. The changing
 * fields are the record's own in both; a packed record's absent `attempts` is
 * 0, and its id is the one it is read by (`id`: without, it does not read).
 */
function unpacked(hash: Hash, id: string | undefined): Hash {
  const spec = field(hash, SPEC_FIELD);
  if (spec === undefined) return hash;
  let fields: Record<string, string>;
  try {
    fields = specFields(spec);
  } catch (error) {
    throw error instanceof BadSpec ? new BadField(error.field) : error;
  }
  if (id !== undefined) fields['id'] = id;
  for (const name of CHANGING_FIELDS) {
    const value = field(hash, name);
    if (value !== undefined) fields[name] = value;
  }
  fields['attempts'] ??= '0';
  return fields;
}

/** The fields a packed record keeps of its own: those that change after its add, and the payload. */
const CHANGING_FIELDS = [
  'state',
  'attempts',
  'payload',
  'worker',
  'owner',
  'startedAt',
  'finishedAt',
  'result',
  'error',
  'cancel',
] as const;

function readRecord(
  hash: Hash,
  expectedId: string | undefined,
  keys: RecordKeys,
  unopened: UnopenedFields | undefined,
): DurableRecord {
  const record: DurableRecord = {
    id: id(hash, 'id'),
    handler: text(hash, 'handler', MAX_HANDLER_LENGTH),
    state: state(field(hash, 'state')),
    priority: integer(hash, 'priority', PRIORITY_MIN, PRIORITY_MAX),
    attempts: integer(hash, 'attempts', 0),
    createdAt: integer(hash, 'createdAt', 0, BACKLOG_PRIORITY_STEP - 1),
    timeoutMs: integer(hash, 'timeoutMs', 0),
    retries: integer(hash, 'retries', 0),
    resultTtlMs: integer(hash, 'resultTtlMs', 1),
    cancelRequested: cancel(field(hash, 'cancel')),
  };
  if (expectedId !== undefined && record.id !== expectedId) throw new BadField('id');
  // Only what was stored: an absent field leaves its property out.
  if (field(hash, 'payload') !== undefined) {
    const payload = payloadOf(hash, record, keys, unopened);
    if (payload !== UNOPENED) record.payload = payload;
  }
  if (field(hash, 'worker') !== undefined) record.worker = id(hash, 'worker');
  // A finished task has no owner: the terminal write leaves the field, as it costs a command to delete.
  if (field(hash, 'owner') !== undefined && !isTerminal(record.state)) {
    record.owner = id(hash, 'owner');
  }
  if (field(hash, 'startedAt') !== undefined) record.startedAt = integer(hash, 'startedAt', 0);
  if (field(hash, 'finishedAt') !== undefined) record.finishedAt = integer(hash, 'finishedAt', 0);
  if (field(hash, 'runAt') !== undefined) record.runAt = integer(hash, 'runAt', 0);
  if (field(hash, 'expiresAt') !== undefined) record.expiresAt = integer(hash, 'expiresAt', 0);
  if (field(hash, 'key') !== undefined) record.key = text(hash, 'key', MAX_KEY_LENGTH);
  try {
    if (field(hash, 'result') !== undefined) {
      const result = sealedJson(hash, 'result', record.id, keys, unopened);
      if (result !== UNOPENED) record.result = result;
    }
    if (field(hash, 'error') !== undefined) {
      const error = sealedJson(hash, 'error', record.id, keys, unopened);
      if (error !== UNOPENED) record.error = storedError(error);
    }
  } catch (error) {
    if (!(error instanceof SealedFieldUnopened) || !isTerminal(record.state)) throw error;
    // Its outcome is there but unreadable with these keys: it reads as failed, saying why.
    record.state = 'failed';
    delete record.result;
    record.error = { code: ErrorCode.INVALID_MESSAGE, message: error.problem as string };
  }
  const traceparent = field(hash, 'traceparent');
  if (traceparent !== undefined) {
    const trace = readTraceContext(traceparent, field(hash, 'tracestate'), ignoreInvalid);
    if (trace !== undefined) record.trace = trace;
  }
  // Only the owner's writes are fenced by it: an active task without one could never finish.
  if (record.state === 'active' && record.owner === undefined) throw new BadField('owner');
  return record;
}

function ignoreInvalid(): void {}

function field(hash: Hash, name: string): string | undefined {
  return Object.hasOwn(hash, name) ? hash[name] : undefined;
}

function text(hash: Hash, name: string, max: number): string {
  const value = field(hash, name);
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw new BadField(name);
  }
  return value;
}

function id(hash: Hash, name: string): string {
  const value = field(hash, name);
  if (!isValidId(value)) throw new BadField(name);
  return value;
}

function integer(hash: Hash, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = field(hash, name);
  if (value === undefined || !INTEGER.test(value)) throw new BadField(name);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new BadField(name);
  return n;
}

/** A field left out because it could not be opened (only with `unopened`). */
const UNOPENED = Symbol('unopened');

/** The payload; a finished task's that cannot be opened is left out: no attempt will need it. */
function payloadOf(
  hash: Hash,
  record: DurableRecord,
  keys: RecordKeys,
  unopened: UnopenedFields | undefined,
): unknown {
  try {
    return sealedJson(hash, 'payload', record.id, keys, unopened);
  } catch (error) {
    if (error instanceof SealedFieldUnopened && isTerminal(record.state)) return UNOPENED;
    throw error;
  }
}

/** A JSON field that may be sealed, opened with `keys`. */
function sealedJson(
  hash: Hash,
  name: SealedField,
  id: string,
  keys: RecordKeys,
  unopened: UnopenedFields | undefined,
): unknown {
  const opened = openField(keys, id, name, field(hash, name) as string);
  if (typeof opened === 'string') return parseJson(opened, name);
  if (unopened === undefined) {
    const problem = `its field ${JSON.stringify(name)} cannot be opened: ${describeUnopened(opened)}`;
    throw new SealedFieldUnopened(name, problem.slice(0, MAX_ERROR_MESSAGE));
  }
  unopened.set(name, opened);
  return UNOPENED;
}

function state(value: string | undefined): TaskState {
  if (value === undefined || !STATES.has(value)) throw new BadField('state');
  return value as TaskState;
}

function cancel(value: string | undefined): boolean {
  if (value === undefined) return false;
  if (value !== '1') throw new BadField('cancel');
  return true;
}

/** JSON text as a value, refusing keys that could pollute a prototype (as decode() does for messages). */
function parseJson(text: string, name: string): unknown {
  if (checkEncodedMessage(text) !== undefined) throw new BadField(name);
  try {
    return JSON.parse(text);
  } catch {
    throw new BadField(name);
  }
}

/** `value` as a stored error, or undefined if a record could not hold it. */
export function readStoredError(value: unknown): StoredError | undefined {
  try {
    return storedError(value);
  } catch {
    return undefined;
  }
}

function storedError(value: unknown): StoredError {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BadField('error');
  }
  const o = value as Record<string, unknown>;
  const { code, message } = o;
  if (typeof code !== 'string' || !ERROR_CODES.has(code)) throw new BadField('error');
  if (typeof message !== 'string' || message.length > MAX_ERROR_MESSAGE) {
    throw new BadField('error');
  }
  const error: StoredError = { code: code as ErrorCode, message };
  if (o['remote'] !== undefined) error.remote = remoteError(o['remote']);
  return error;
}

function remoteError(value: unknown): RemoteError {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BadField('error');
  }
  const o = value as Record<string, unknown>;
  const { name, message, retryable, code } = o;
  const valid =
    typeof name === 'string' &&
    name.length > 0 &&
    name.length <= MAX_HANDLER_LENGTH &&
    typeof message === 'string' &&
    message.length <= MAX_ERROR_MESSAGE &&
    typeof retryable === 'boolean' &&
    (code === undefined || (typeof code === 'string' && code.length > 0 && code.length <= 64));
  if (!valid) throw new BadField('error');
  const remote: RemoteError = { name, message, retryable };
  if (code !== undefined) remote.code = code;
  return remote;
}
