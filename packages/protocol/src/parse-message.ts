/**
 * Validation of a message's object form: an untrusted, parsed message object
 * becomes a typed {@link Message}, or a {@link ProtocolError}.
 */
import { DEFAULT_MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES, MIN_MESSAGE_BYTES } from './limits.js';
import {
  addTrace,
  type DroppedField,
  fail,
  finite,
  ignoreDropped,
  int,
  isValidId,
  MAX_ERROR_MESSAGE,
  MAX_TEXT,
  MAX_TOKEN,
  type MessageContext,
  maxBytes,
  record,
  remoteError,
  safeId,
  text,
} from './message-fields.js';
import {
  type AckMessage,
  type CancelMessage,
  type DrainMessage,
  type ErrorResultMessage,
  type HelloMessage,
  MAX_WEIGHT,
  type Message,
  type NackMessage,
  NackReason,
  type OkResultMessage,
  type ReweightMessage,
  type TaskMessage,
  type WorkerInfo,
} from './messages.js';
import { readTraceContext } from './trace-context.js';

const MAX_HANDLERS = 1024;
const nackReasons = new Set<string>(Object.values(NackReason));

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
  if (o['traceContext'] === true) info.traceContext = true;
  return info;
}
/**
 * Validates one untrusted message object (already parsed, already checked for
 * forbidden keys) and returns a typed copy. Unknown extra fields are dropped,
 * and so is an invalid trace context (`dropped` hears of it).
 * Throws {@link ProtocolError} with code `INVALID_MESSAGE`.
 */
export function parseMessage(value: unknown, dropped: DroppedField = ignoreDropped): Message {
  return message(value, dropped);
}

function message(value: unknown, dropped: DroppedField): Message {
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
      if (o['traceparent'] !== undefined || o['tracestate'] !== undefined) {
        addTrace(task, readTraceContext(o['traceparent'], o['tracestate'], dropped));
      }
      return task;
    }
    case 'cancel': {
      const cancel: CancelMessage = {
        kind: 'cancel',
        id: text(o, 'id'),
        token: text(o, 'token', MAX_TOKEN),
      };
      if (o['from'] !== undefined) cancel.from = safeId(o, 'from');
      return cancel;
    }
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
