import { ErrorCode, ProtocolError, type RemoteError } from './errors.js';
import { DEFAULT_MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES, MIN_MESSAGE_BYTES } from './limits.js';

/** Bumped on any incompatible change to the wire format. Frames of another version are rejected. */
export const PROTOCOL_VERSION = 2;

/** Why a worker refused a task. BUSY, DRAINING and WORKER_LOST re-route; the others reject the caller. */
export const NackReason = {
  BUSY: ErrorCode.BUSY,
  DRAINING: ErrorCode.DRAINING,
  UNKNOWN_HANDLER: ErrorCode.UNKNOWN_HANDLER,
  EXPIRED: ErrorCode.EXPIRED,
  INVALID_MESSAGE: ErrorCode.INVALID_MESSAGE,
  /** A re-sent attempt named an incarnation of this worker that is gone: it may have run there, and is not run here. */
  WORKER_LOST: ErrorCode.WORKER_LOST,
} as const;
export type NackReason = (typeof NackReason)[keyof typeof NackReason];

/** Dispatcher → worker: run `handler` with `payload`. One attempt of a task; `token` fences it. */
export interface TaskMessage {
  kind: 'task';
  /** Task id, unique per dispatcher; the same across attempts. */
  id: string;
  /** 1 for the first attempt; the handler sees it. */
  attempt: number;
  /** Unique per attempt; a reply is accepted only for the current attempt's token. */
  token: string;
  handler: string;
  payload?: unknown;
  /** Epoch milliseconds after which the caller no longer waits. */
  deadline: number;
  /** Id of the dispatcher that wants the reply. */
  replyTo: string;
  /**
   * The largest frame that dispatcher accepts: replies must fit it. Absent from
   * dispatchers that predate it; a worker then holds replies to its own limit.
   */
  replyMaxBytes?: number;
  /**
   * Set on a re-send (recovery): the incarnation of the worker that may already
   * have run this attempt. A process under the same id but of another
   * incarnation (a restart) has no record of it and must not run it: it nacks
   * WORKER_LOST, and the dispatcher counts the attempt as spent.
   */
  incarnation?: string;
}

/** Dispatcher → worker: stop the attempt `token` of task `id` (its signal aborts). */
export interface CancelMessage {
  kind: 'cancel';
  id: string;
  token: string;
}

/** Worker → dispatcher: the attempt arrived and is queued or running. */
export interface AckMessage {
  kind: 'ack';
  id: string;
  token: string;
  worker: string;
  /** The acking process's incarnation: after a restart under the same id, it tells whose attempt this is. */
  incarnation?: string;
}

/** Worker → dispatcher: the attempt was not taken. */
export interface NackMessage {
  kind: 'nack';
  id: string;
  token: string;
  worker: string;
  reason: NackReason;
  message?: string;
}

interface ResultBase {
  kind: 'result';
  id: string;
  token: string;
  worker: string;
  /** The incarnation of the process that ran the attempt. */
  incarnation?: string;
}
export interface OkResultMessage extends ResultBase {
  ok: true;
  value?: unknown;
}
export interface ErrorResultMessage extends ResultBase {
  ok: false;
  error: RemoteError;
}
/** Worker → dispatcher: the attempt's outcome. Also stands in for the ack. */
export type ResultMessage = OkResultMessage | ErrorResultMessage;

/** What a worker publishes about itself in the registry and in its hello. */
export interface WorkerInfo {
  id: string;
  /** Fresh for every start; a restarted worker is a new member of the ring. */
  incarnation: string;
  weight: number;
  concurrency: number;
  /** Tasks it holds beyond `concurrency` before it answers BUSY; a dispatcher may keep this many more in flight. */
  maxQueue: number;
  /** How long its heartbeat key lives; dispatchers wait this long before judging it after Redis stalled. */
  heartbeatTtlMs: number;
  /**
   * How often it writes its heartbeat, so a tool can tell a late heartbeat
   * from one that is merely not due. Absent from workers that predate it:
   * take a third of `heartbeatTtlMs`, the default ratio.
   */
  heartbeatIntervalMs?: number;
  /**
   * The largest frame it accepts: dispatchers send it no task that would not fit.
   * Taken as {@link DEFAULT_MAX_MESSAGE_BYTES} from workers that predate it.
   */
  maxMessageBytes: number;
  handlers: string[];
  host: string;
  pid: number;
  /** The worker package's version. */
  version: string;
  /** Epoch milliseconds. */
  startedAt: number;
}

/** Worker → control channel: it joined (or re-registered after a reconnect). */
export interface HelloMessage {
  kind: 'hello';
  worker: WorkerInfo;
  /**
   * Set when the only news is the worker's weight (an operator's reweight).
   * Any other hello from a known process means it re-subscribed after a
   * reconnect, and dispatchers re-send what it may have missed; this one
   * lets them skip that.
   */
  reweight?: true;
}

/** Worker → control channel: it is leaving; dispatchers re-route its unfinished attempts. */
export interface LeaveMessage {
  kind: 'leave';
  id: string;
  incarnation: string;
}

/**
 * Operator → worker (on the worker's own channel): from now on, weigh this
 * much in every dispatcher's ring. The worker re-registers with it and says
 * hello, so dispatchers follow at once and the registry shows it. With
 * `incarnation`, only that process of the id takes it. The frame is the
 * prompt; the record is the operator's policy hash (`names().weightsKey`),
 * written before the frame is published: workers read it at start and with
 * every heartbeat, so a worker restarted under the id starts with it, one that
 * missed the frame catches up, and one whose entry was deleted goes back to
 * its configured weight.
 */
export interface ReweightMessage {
  kind: 'reweight';
  /** The worker id it is meant for; a worker ignores one addressed to another id. */
  id: string;
  incarnation?: string;
  weight: number;
}

/**
 * Operator → worker (on the worker's own channel): leave gracefully, exactly
 * as `close()` does (queued attempts re-routed, running ones finished).
 */
export interface DrainMessage {
  kind: 'drain';
  id: string;
  incarnation?: string;
}

/** The largest weight a worker may have; dispatchers refuse registry entries above it. */
export const MAX_WEIGHT = 1_000_000;

export type Message =
  | TaskMessage
  | CancelMessage
  | AckMessage
  | NackMessage
  | ResultMessage
  | HelloMessage
  | LeaveMessage
  | ReweightMessage
  | DrainMessage;

export type MessageKind = Message['kind'];

/** Worker and dispatcher ids end up in channel and key names, so they are kept to a safe alphabet. */
export const ID_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;
const MAX_TEXT = 128;
const MAX_TOKEN = 64;
const MAX_ERROR_MESSAGE = 8192;
const MAX_HANDLERS = 1024;

export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

/** Fields recovered from an invalid message, so a worker can still nack it to the right dispatcher. */
export interface MessageContext {
  kind?: string;
  id?: string;
  token?: string;
  replyTo?: string;
}

function fail(what: string): never {
  throw new ProtocolError(ErrorCode.INVALID_MESSAGE, `invalid message: ${what}`);
}

function text(obj: Record<string, unknown>, key: string, max = MAX_TEXT): string {
  return asText(obj[key], key, max);
}

function asText(v: unknown, name: string, max = MAX_TEXT): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) {
    fail(`"${name}" must be a string of 1 to ${max} characters`);
  }
  return v;
}

/**
 * The last id `safeId` accepted. A frame repeats one sender's id in every message
 * (replyTo in tasks, worker in replies), so comparing with it spares the pattern
 * test for all but the first.
 */
let lastSafeId: string | null = null;

function safeId(obj: Record<string, unknown>, key: string): string {
  return asSafeId(obj[key], key);
}

function asSafeId(v: unknown, name: string): string {
  if (typeof v === 'string' && v === lastSafeId) return v;
  if (!isValidId(v)) fail(`"${name}" must match ${ID_PATTERN}`);
  lastSafeId = v;
  return v;
}

function int(obj: Record<string, unknown>, key: string, min: number, max: number): number {
  return asInt(obj[key], key, min, max);
}

function asInt(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail(`"${name}" must be an integer from ${min} to ${max}`);
  }
  return v;
}

/** A frame limit a sender advertises. */
function maxBytes(v: unknown, name: string): number {
  return asInt(v, name, MIN_MESSAGE_BYTES, MAX_MESSAGE_BYTES);
}

function finite(obj: Record<string, unknown>, key: string): number {
  return asFinite(obj[key], key);
}

function asFinite(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`"${name}" must be a finite number`);
  return v;
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(`${what} must be an object`);
  }
  return value as Record<string, unknown>;
}

const nackReasons = new Set<string>(Object.values(NackReason));

function remoteError(value: unknown): RemoteError {
  const o = record(value, '"error"');
  const name = text(o, 'name');
  const message = o['message'];
  if (typeof message !== 'string' || message.length > MAX_ERROR_MESSAGE) {
    fail(`"error.message" must be a string of at most ${MAX_ERROR_MESSAGE} characters`);
  }
  if (typeof o['retryable'] !== 'boolean') fail('"error.retryable" must be a boolean');
  const out: RemoteError = { name, message, retryable: o['retryable'] };
  if (o['code'] !== undefined) out.code = text(o, 'code', 64);
  return out;
}

/** Validates untrusted worker info (from a hello or the registry). Throws {@link ProtocolError}. */
export function parseWorkerInfo(value: unknown): WorkerInfo {
  return workerInfo(value);
}

function workerInfo(value: unknown): WorkerInfo {
  const o = record(value, '"worker"');
  const handlers = o['handlers'];
  if (!Array.isArray(handlers) || handlers.length > MAX_HANDLERS) {
    fail(`"handlers" must be an array of at most ${MAX_HANDLERS} names`);
  }
  for (const h of handlers) {
    if (typeof h !== 'string' || h.length === 0 || h.length > MAX_TEXT) {
      fail('"handlers" must hold non-empty strings');
    }
  }
  const info: WorkerInfo = {
    id: safeId(o, 'id'),
    incarnation: text(o, 'incarnation', MAX_TOKEN),
    weight: int(o, 'weight', 1, MAX_WEIGHT),
    concurrency: int(o, 'concurrency', 1, 1_000_000),
    // Absent from workers that predate it: they are taken to queue nothing.
    maxQueue: o['maxQueue'] === undefined ? 0 : int(o, 'maxQueue', 0, 1_000_000),
    heartbeatTtlMs: o['heartbeatTtlMs'] === undefined ? 0 : int(o, 'heartbeatTtlMs', 0, 86_400_000),
    maxMessageBytes:
      o['maxMessageBytes'] === undefined
        ? DEFAULT_MAX_MESSAGE_BYTES
        : int(o, 'maxMessageBytes', MIN_MESSAGE_BYTES, MAX_MESSAGE_BYTES),
    handlers: handlers as string[],
    host: typeof o['host'] === 'string' ? o['host'].slice(0, 256) : '',
    pid: typeof o['pid'] === 'number' && Number.isInteger(o['pid']) ? o['pid'] : 0,
    version: typeof o['version'] === 'string' ? o['version'].slice(0, 64) : '',
    startedAt: finite(o, 'startedAt'),
  };
  if (o['heartbeatIntervalMs'] !== undefined) {
    info.heartbeatIntervalMs = int(o, 'heartbeatIntervalMs', 1, 86_400_000);
  }
  return info;
}

/**
 * Validates one untrusted message object (already parsed, already checked for
 * forbidden keys) and returns a typed copy. Unknown extra fields are dropped.
 * Throws {@link ProtocolError} with code `INVALID_MESSAGE`.
 */
export function parseMessage(value: unknown): Message {
  return message(value);
}

function message(value: unknown): Message {
  const o = record(value, 'a message');
  switch (o['kind']) {
    case 'task': {
      const task: TaskMessage = {
        kind: 'task',
        id: text(o, 'id'),
        attempt: int(o, 'attempt', 1, 1_000_000),
        token: text(o, 'token', MAX_TOKEN),
        handler: text(o, 'handler'),
        deadline: finite(o, 'deadline'),
        replyTo: safeId(o, 'replyTo'),
      };
      if (o['replyMaxBytes'] !== undefined)
        task.replyMaxBytes = maxBytes(o['replyMaxBytes'], 'replyMaxBytes');
      if (o['payload'] !== undefined) task.payload = o['payload'];
      if (o['incarnation'] !== undefined) task.incarnation = text(o, 'incarnation', MAX_TOKEN);
      return task;
    }
    case 'cancel':
      return { kind: 'cancel', id: text(o, 'id'), token: text(o, 'token', MAX_TOKEN) };
    case 'ack': {
      const ack: AckMessage = {
        kind: 'ack',
        id: text(o, 'id'),
        token: text(o, 'token', MAX_TOKEN),
        worker: safeId(o, 'worker'),
      };
      if (o['incarnation'] !== undefined) ack.incarnation = text(o, 'incarnation', MAX_TOKEN);
      return ack;
    }
    case 'nack': {
      const reason = o['reason'];
      if (typeof reason !== 'string' || !nackReasons.has(reason))
        fail('"reason" is not a nack reason');
      const nack: NackMessage = {
        kind: 'nack',
        id: text(o, 'id'),
        token: text(o, 'token', MAX_TOKEN),
        worker: safeId(o, 'worker'),
        reason: reason as NackReason,
      };
      if (typeof o['message'] === 'string') nack.message = o['message'].slice(0, MAX_ERROR_MESSAGE);
      return nack;
    }
    case 'result': {
      const taskId = text(o, 'id');
      const token = text(o, 'token', MAX_TOKEN);
      const worker = safeId(o, 'worker');
      const incarnation =
        o['incarnation'] === undefined ? undefined : text(o, 'incarnation', MAX_TOKEN);
      if (o['ok'] === true) {
        const ok: OkResultMessage = { kind: 'result', id: taskId, token, worker, ok: true };
        if (incarnation !== undefined) ok.incarnation = incarnation;
        if (o['value'] !== undefined) ok.value = o['value'];
        return ok;
      }
      if (o['ok'] === false) {
        const failed: ErrorResultMessage = {
          kind: 'result',
          id: taskId,
          token,
          worker,
          ok: false,
          error: remoteError(o['error']),
        };
        if (incarnation !== undefined) failed.incarnation = incarnation;
        return failed;
      }
      return fail('"ok" must be a boolean');
    }
    case 'hello': {
      const hello: HelloMessage = { kind: 'hello', worker: workerInfo(o['worker']) };
      if (o['reweight'] === true) hello.reweight = true;
      return hello;
    }
    case 'leave':
      return { kind: 'leave', id: safeId(o, 'id'), incarnation: text(o, 'incarnation', MAX_TOKEN) };
    case 'reweight': {
      const reweight: ReweightMessage = {
        kind: 'reweight',
        id: safeId(o, 'id'),
        weight: int(o, 'weight', 1, MAX_WEIGHT),
      };
      if (o['incarnation'] !== undefined) reweight.incarnation = text(o, 'incarnation', MAX_TOKEN);
      return reweight;
    }
    case 'drain': {
      const drain: DrainMessage = { kind: 'drain', id: safeId(o, 'id') };
      if (o['incarnation'] !== undefined) drain.incarnation = text(o, 'incarnation', MAX_TOKEN);
      return drain;
    }
    default:
      return fail('"kind" is not a known message kind');
  }
}

/** Best-effort extraction of routing fields from an invalid message; never throws. */
export function messageContext(value: unknown): MessageContext | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const o = value as Record<string, unknown>;
  const ctx: MessageContext = {};
  if (typeof o['kind'] === 'string' && o['kind'].length <= MAX_TEXT) ctx.kind = o['kind'];
  if (typeof o['id'] === 'string' && o['id'].length > 0 && o['id'].length <= MAX_TEXT)
    ctx.id = o['id'];
  if (typeof o['token'] === 'string' && o['token'].length > 0 && o['token'].length <= MAX_TOKEN) {
    ctx.token = o['token'];
  }
  if (isValidId(o['replyTo'])) ctx.replyTo = o['replyTo'];
  return ctx;
}

/**
 * Codes of the compact forms: arrays that carry the kinds sent once per task,
 * with the sender's fields in the frame (`r`, `w`, `i`) instead of in every
 * message. They halve the bytes a task and its result take on the wire.
 *
 * - task `[1, id, attempt, handler, deadline, payload?]`: replyTo is the frame's
 *   `r`, and the token is `` `${id}.${attempt}` ``;
 * - re-sent task `[2, id, attempt, handler, deadline, incarnation, payload?]`:
 *   a task naming the incarnation that may have run it (see {@link TaskMessage});
 * - ack `[3, id, token]`, ok result `[4, id, token, value?]`, error result
 *   `[5, id, token, error]`: worker and incarnation are the frame's `w` and `i`.
 */
export const CompactKind = { TASK: 1, RESEND: 2, ACK: 3, OK: 4, ERROR: 5 } as const;

/**
 * Validates one untrusted compact message (already parsed, already checked for
 * forbidden keys) against the frame it came in, and returns the same typed
 * {@link Message} its object form would give. Throws {@link ProtocolError}.
 */
export function parseCompact(item: readonly unknown[], frame: Record<string, unknown>): Message {
  switch (item[0]) {
    case CompactKind.TASK:
    case CompactKind.RESEND: {
      // A re-send carries one more field, the incarnation, before the payload.
      const fields = item[0] === CompactKind.RESEND ? 6 : 5;
      if (item.length !== fields && item.length !== fields + 1) {
        fail(
          `a compact ${fields === 6 ? 're-sent ' : ''}task has ${fields} or ${fields + 1} fields`,
        );
      }
      const id = asText(item[1], 'id');
      const attempt = asInt(item[2], 'attempt', 1, 1_000_000);
      const task: TaskMessage = {
        kind: 'task',
        id,
        attempt,
        token: `${id}.${attempt}`,
        handler: asText(item[3], 'handler'),
        deadline: asFinite(item[4], 'deadline'),
        replyTo: asSafeId(frame['r'], 'r'),
      };
      if (frame['b'] !== undefined) task.replyMaxBytes = maxBytes(frame['b'], 'b');
      if (fields === 6) task.incarnation = asText(item[5], 'incarnation', MAX_TOKEN);
      if (item.length === fields + 1) task.payload = item[fields];
      return task;
    }
    case CompactKind.ACK: {
      if (item.length !== 3) fail('a compact ack has 3 fields');
      const ack: AckMessage = {
        kind: 'ack',
        id: asText(item[1], 'id'),
        token: asText(item[2], 'token', MAX_TOKEN),
        worker: asSafeId(frame['w'], 'w'),
      };
      if (frame['i'] !== undefined) ack.incarnation = asText(frame['i'], 'i', MAX_TOKEN);
      return ack;
    }
    case CompactKind.OK:
    case CompactKind.ERROR: {
      const ok = item[0] === CompactKind.OK;
      if (ok ? item.length !== 3 && item.length !== 4 : item.length !== 4) {
        fail(`a compact ${ok ? 'ok' : 'error'} result has ${ok ? '3 or 4' : '4'} fields`);
      }
      const id = asText(item[1], 'id');
      const token = asText(item[2], 'token', MAX_TOKEN);
      const worker = asSafeId(frame['w'], 'w');
      const incarnation = frame['i'] === undefined ? undefined : asText(frame['i'], 'i', MAX_TOKEN);
      const result: ResultMessage = ok
        ? { kind: 'result', id, token, worker, ok: true }
        : { kind: 'result', id, token, worker, ok: false, error: remoteError(item[3]) };
      if (incarnation !== undefined) result.incarnation = incarnation;
      if (ok && item.length === 4) (result as OkResultMessage).value = item[3];
      return result;
    }
    default:
      return fail('a compact message must start with a known kind code');
  }
}

/** {@link messageContext} for a compact message; never throws. */
export function compactContext(
  item: readonly unknown[],
  frame: Record<string, unknown>,
): MessageContext {
  const ctx: MessageContext = {};
  const id = item[1];
  if (typeof id === 'string' && id.length > 0 && id.length <= MAX_TEXT) ctx.id = id;
  if (item[0] === CompactKind.TASK || item[0] === CompactKind.RESEND) {
    ctx.kind = 'task';
    const attempt = item[2];
    if (ctx.id !== undefined && typeof attempt === 'number' && Number.isInteger(attempt)) {
      const token = `${ctx.id}.${attempt}`;
      if (token.length <= MAX_TOKEN) ctx.token = token;
    }
    if (isValidId(frame['r'])) ctx.replyTo = frame['r'];
  } else if (item[0] === CompactKind.ACK) {
    ctx.kind = 'ack';
  } else if (item[0] === CompactKind.OK || item[0] === CompactKind.ERROR) {
    ctx.kind = 'result';
  }
  const token = item[2];
  if (ctx.kind !== 'task' && typeof token === 'string' && token.length > 0) {
    if (token.length <= MAX_TOKEN) ctx.token = token;
  }
  return ctx;
}
