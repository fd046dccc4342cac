/**
 * A durable task's record: one Redis hash per task (`{ns}:task:<id>`), every
 * value a string there and typed here. Its immutable part is packed in one
 * field, `spec` (`record-spec.ts`); the table below names the values as
 * records written before that layout hold them, each in a field of its own,
 * and as {@link decodeRecord} checks them for both layouts. {@link encodeRecord} writes it;
 * {@link decodeRecord} reads it back without trusting it: anything in Redis
 * may have been written by another version, by hand, or only in part, so a
 * record that does not hold together reads as undefined and its first bad
 * field is counted, never thrown.
 *
 * | field | value |
 * |---|---|
 * | `id`, `handler` | the task's id and handler name |
 * | `payload` | JSON text, sealed with `auth.encrypt` (record-seal.ts); absent for an undefined payload |
 * | `state` | `delayed` \| `waiting` \| `active` \| `succeeded` \| `failed` \| `cancelled` |
 * | `priority` | integer from `PRIORITY_MIN` to `PRIORITY_MAX` |
 * | `attempts` | attempts started, over all owners |
 * | `worker` | the last attempt's worker |
 * | `owner` | the dispatcher that owns it, while `active`; left by the terminal write, and ignored then |
 * | `createdAt`, `startedAt`, `finishedAt`, `runAt`, `expiresAt` | epoch ms |
 * | `timeoutMs`, `retries`, `resultTtlMs` | non-negative integers (`resultTtlMs` ≥ 1) |
 * | `key` | the routing key, if any |
 * | `result` | JSON text of a success's value, sealed with `auth.encrypt`; absent for undefined |
 * | `error` | JSON text of `{ code, message, remote? }`, sealed with `auth.encrypt` |
 * | `cancel` | `"1"` once a cancel was requested while it was active |
 * | `traceparent`, `tracestate` | the W3C trace context its attempts carry, if its submitter traced |
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
  type TraceContext,
  type UnopenedValue,
} from '@ringcast/protocol';
import { MAX_KEY_LENGTH } from '../admission.js';
import { NO_RECORD_KEYS, openField, type RecordKeys, type SealedField } from './record-seal.js';
import { BadSpec, encodeSpec, SPEC_FIELD, specFields } from './record-spec.js';

export const TASK_STATES = [
  'delayed',
  'waiting',
  'active',
  'succeeded',
  'failed',
  'cancelled',
] as const;
export type TaskState = (typeof TASK_STATES)[number];
export type TerminalState = 'succeeded' | 'failed' | 'cancelled';

/**
 * How long a finished record is kept when its own `resultTtlMs` cannot be
 * read: the default the issue gives `resultTtlMs`, 24 h.
 */
export const DEFAULT_RESULT_TTL_MS = 24 * 60 * 60 * 1000;
/** Longest handler name, as the wire format allows it. */
export const MAX_HANDLER_LENGTH = 128;
/** Longest stored error message, as a worker's result carries it. */
export const MAX_ERROR_MESSAGE = 8192;

/** How a task failed or was cancelled, as `result(id)` will reject with it. */
export interface StoredError {
  code: ErrorCode;
  message: string;
  /** For `HANDLER_ERROR`: what the handler threw. */
  remote?: RemoteError;
}

export interface DurableRecord {
  id: string;
  handler: string;
  payload?: unknown;
  /**
   * The payload's JSON text, in place of `payload`, on a record built from its
   * submitter's own copy (a submit's task run at once, a claim with known
   * records): sent to its worker as it is, neither parsed nor encoded again.
   */
  payloadJson?: string;
  state: TaskState;
  priority: number;
  /** Attempts started, over all owners. */
  attempts: number;
  /** The worker of the last attempt started. */
  worker?: string;
  /** The dispatcher that owns the task; set exactly while it is `active`. */
  owner?: string;
  createdAt: number;
  /** When the first attempt started. */
  startedAt?: number;
  finishedAt?: number;
  /** When a delayed task is due. */
  runAt?: number;
  /** A task not started by then is to fail `EXPIRED` (the dispatcher decides; the store keeps it). */
  expiresAt?: number;
  timeoutMs: number;
  retries: number;
  /** How long the record is kept once the task finished. */
  resultTtlMs: number;
  /** The routing key, for strategies that read one. */
  key?: string;
  /** A success's value. */
  result?: unknown;
  error?: StoredError;
  /** A cancel was requested while the task was active (the `cancel` field). */
  cancelRequested: boolean;
  /** The trace its attempts continue: the submitter's producer span. */
  trace?: TraceContext;
}

/**
 * What a submitter decides about a new task; the store sets the rest.
 * `payloadJson`, when given, is the payload already encoded (as `encodePayload`
 * made it, so known to encode) and stands for `payload`: a durable submit
 * encodes it once, and the same text is stored and, if it runs here, sent to
 * its worker — no parse and re-encode on the hot path.
 */
export type NewRecord = Pick<
  DurableRecord,
  | 'id'
  | 'handler'
  | 'payload'
  | 'payloadJson'
  | 'priority'
  | 'runAt'
  | 'expiresAt'
  | 'timeoutMs'
  | 'retries'
  | 'resultTtlMs'
  | 'key'
  | 'trace'
>;

export function isTerminal(state: TaskState): state is TerminalState {
  return state === 'succeeded' || state === 'failed' || state === 'cancelled';
}

/**
 * The hash fields of `record`, as strings, in the packed layout
 * (`record-spec.ts`): `state`, `spec`, and those of the changing fields that
 * are set (`attempts` only once an attempt started: absent reads as 0).
 * JSON values must already be known to encode (the store checks them before
 * it calls this).
 */
export function encodeRecord(record: DurableRecord): Record<string, string> {
  const fields: Record<string, string> = {
    state: record.state,
    spec: encodeSpec({
      handler: record.handler,
      priority: record.priority,
      createdAt: record.createdAt,
      timeoutMs: record.timeoutMs,
      retries: record.retries,
      resultTtlMs: record.resultTtlMs,
      runAt: record.runAt,
      expiresAt: record.expiresAt,
      key: record.key,
      traceparent: record.trace?.traceparent,
      tracestate: record.trace?.tracestate,
    }),
  };
  const optional: Array<[string, string | undefined]> = [
    ['attempts', record.attempts === 0 ? undefined : String(record.attempts)],
    ['payload', record.payloadJson ?? json(record.payload)],
    ['worker', record.worker],
    ['owner', record.owner],
    ['startedAt', numeric(record.startedAt)],
    ['finishedAt', numeric(record.finishedAt)],
    ['result', json(record.result)],
    ['error', json(record.error)],
    ['cancel', record.cancelRequested ? '1' : undefined],
  ];
  for (const [field, value] of optional) if (value !== undefined) fields[field] = value;
  return fields;
}

function json(value: unknown): string | undefined {
  return value === undefined ? undefined : JSON.stringify(value);
}

function numeric(value: number | undefined): string | undefined {
  return value === undefined ? undefined : String(value);
}

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
