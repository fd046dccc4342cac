/**
 * Validation of the compact forms: the arrays a task, an ack and a result travel
 * as, read against the frame that carries the sender's fields.
 */
import { ErrorCode, ProtocolError } from './errors.js';
import {
  addTrace,
  asFinite,
  asInt,
  asSafeId,
  asText,
  type DroppedField,
  fail,
  ignoreDropped,
  isValidId,
  MAX_TEXT,
  MAX_TOKEN,
  type MessageContext,
  maxBytes,
  remoteError,
} from './message-fields.js';
import type {
  AckMessage,
  Message,
  OkResultMessage,
  ResultMessage,
  TaskMessage,
} from './messages.js';
import { readTraceContext, type TraceContext } from './trace-context.js';

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
 *   `[5, id, token, error]`: worker and incarnation are the frame's `w` and `i`;
 * - traced task `[6, id, attempt, handler, deadline, trace, payload?]` and traced
 *   re-send `[7, id, attempt, handler, deadline, incarnation, trace, payload?]`:
 *   the same with a trace context, `trace` being the `traceparent` or
 *   `[traceparent, tracestate]`. Separate kinds, so that an untraced task pays
 *   not a byte for tracing.
 */
export const CompactKind = {
  TASK: 1,
  RESEND: 2,
  ACK: 3,
  OK: 4,
  ERROR: 5,
  TRACED_TASK: 6,
  TRACED_RESEND: 7,
} as const;

/**
 * Validates one untrusted compact message (already parsed, already checked for
 * forbidden keys) against the frame it came in, and returns the same typed
 * {@link Message} its object form would give; an invalid trace context is left
 * out (`dropped` hears of it). Throws {@link ProtocolError}.
 */
export function parseCompact(
  item: readonly unknown[],
  frame: Record<string, unknown>,
  dropped: DroppedField = ignoreDropped,
): Message {
  switch (item[0]) {
    case CompactKind.TASK:
    case CompactKind.RESEND:
    case CompactKind.TRACED_TASK:
    case CompactKind.TRACED_RESEND: {
      const kind = item[0];
      // A re-send carries the incarnation, a traced task its trace, before the payload.
      const resent = kind === CompactKind.RESEND || kind === CompactKind.TRACED_RESEND;
      const traced = kind === CompactKind.TRACED_TASK || kind === CompactKind.TRACED_RESEND;
      const fields = 5 + (resent ? 1 : 0) + (traced ? 1 : 0);
      if (item.length !== fields && item.length !== fields + 1) {
        const name = `${traced ? 'traced ' : ''}${resent ? 're-sent ' : ''}task`;
        fail(`a compact ${name} has ${fields} or ${fields + 1} fields`);
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
      if (resent) task.incarnation = asText(item[5], 'incarnation', MAX_TOKEN);
      if (traced) addTrace(task, compactTrace(item[fields - 1], dropped));
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
  if (isCompactTask(item[0])) {
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

function isCompactTask(kind: unknown): boolean {
  return (
    kind === CompactKind.TASK ||
    kind === CompactKind.RESEND ||
    kind === CompactKind.TRACED_TASK ||
    kind === CompactKind.TRACED_RESEND
  );
}

/** A compact task's `trace` field: the `traceparent`, or `[traceparent, tracestate]`. */
function compactTrace(value: unknown, dropped: DroppedField): TraceContext | undefined {
  if (typeof value === 'string') return readTraceContext(value, undefined, dropped);
  if (Array.isArray(value) && value.length === 2) {
    return readTraceContext(value[0], value[1], dropped);
  }
  dropped(
    new ProtocolError(
      ErrorCode.INVALID_MESSAGE,
      'invalid trace context: "trace" must be a traceparent or [traceparent, tracestate]',
    ),
  );
  return undefined;
}
