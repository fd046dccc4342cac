/**
 * A durable task's record: one Redis hash per task (`{ns}:task:<id>`), every
 * value a string there and typed here. Its immutable part is packed in one
 * field, `spec` (`record-spec.ts`); the table below names the values as
 * records written before that layout hold them, each in a field of its own,
 * and as `decodeRecord` (`record-decode.ts`) checks them for both layouts.
 * {@link encodeRecord} writes it; `decodeRecord` reads it back without
 * trusting it.
 *
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
import type { ErrorCode, RemoteError, TraceContext } from '@ringcast/protocol';
import { encodeSpec } from './record-spec.js';

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
