import { CompactKind, compactContext, parseCompact } from './compact-messages.js';
import { ErrorCode, ProtocolError, type RemoteError } from './errors.js';
import { DEFAULT_MAX_MESSAGE_BYTES, MAX_BATCH } from './limits.js';
import type { MessageContext } from './message-fields.js';
import { type Message, PROTOCOL_VERSION } from './messages.js';
import { messageContext, parseMessage } from './parse-message.js';
import type { TraceContext } from './trace-context.js';

/** Deepest nesting a payload may have when it has to be searched for forbidden keys. */
const MAX_DEPTH = 256;

export interface DecodeOptions {
  /** Frames larger than this are rejected before they are parsed. @defaultValue {@link DEFAULT_MAX_MESSAGE_BYTES} */
  maxBytes?: number;
}

/** One message of a frame that failed validation, with whatever routing fields survived. */
export interface RejectedMessage {
  error: ProtocolError;
  context?: MessageContext;
}

export type DecodeResult =
  | {
      ok: true;
      messages: Message[];
      rejected: RejectedMessage[];
      /**
       * Why fields were left out of messages that were kept: trace contexts that
       * did not validate (their tasks run untraced). Absent when there were none.
       */
      dropped?: ProtocolError[];
    }
  | { ok: false; error: ProtocolError };

/**
 * Every publish carries one frame: `{"v":2,"m":[message, ...]}`, with the
 * sender's fields (`r`, `w`, `i`) before `m` when its compact messages need them.
 * A lone message is a batch of one, so there is a single shape to validate.
 */
const FRAME_HEAD = `{"v":${PROTOCOL_VERSION},"m":[`;
const FRAME_TAIL = ']}';

/**
 * Who sent a frame. Its compact messages take these fields from the frame
 * rather than carry them each: `replyTo` and `maxBytes` for tasks, `worker`
 * and `incarnation` for acks and results.
 */
export interface FrameSender {
  /** The dispatcher that sends the frame's tasks and wants their replies. */
  replyTo?: string;
  /**
   * The largest frame that dispatcher accepts (its `maxMessageBytes`, as `b`):
   * the worker keeps its replies within it. Once per frame, so it costs no task anything.
   */
  maxBytes?: number;
  /** The worker that sends the frame's replies. */
  worker?: string;
  /** That worker process's incarnation. */
  incarnation?: string;
}

function frameHead(sender: FrameSender | undefined): string {
  if (!sender) return FRAME_HEAD;
  let head = `{"v":${PROTOCOL_VERSION}`;
  if (sender.replyTo !== undefined) head += `,"r":${JSON.stringify(sender.replyTo)}`;
  if (sender.maxBytes !== undefined) head += `,"b":${sender.maxBytes}`;
  if (sender.worker !== undefined) head += `,"w":${JSON.stringify(sender.worker)}`;
  if (sender.incarnation !== undefined) head += `,"i":${JSON.stringify(sender.incarnation)}`;
  return `${head},"m":[`;
}

/** Encodes one message for a later {@link encodeFrame}. Throws if the payload is not JSON-serialisable. */
export function encodeMessage(message: Message): string {
  return JSON.stringify(message);
}

/**
 * Joins messages already encoded (by {@link encodeMessage} or the compact
 * encoders) into one frame; compact messages need the `sender` they rely on.
 */
export function encodeFrame(encoded: readonly string[], sender?: FrameSender): string {
  const head = frameHead(sender);
  const last = encoded.length - 1;
  if (last < 0) return head + FRAME_TAIL;
  // Head and tail go onto the first and last parts so that one join makes the
  // whole frame a single flat string. Concatenated around a join they leave a rope
  // that the socket write must flatten again: ~0.1 µs more per message measured.
  const parts = encoded.slice();
  parts[0] = head + parts[0];
  parts[last] = parts[last] + FRAME_TAIL;
  return parts.join(',');
}

/** Bytes a frame from `sender` adds around `count` encoded messages, without building it. */
export function frameOverhead(count: number, sender?: FrameSender): number {
  const head = frameHead(sender);
  return Buffer.byteLength(head, 'utf8') + FRAME_TAIL.length + Math.max(0, count - 1);
}

/**
 * `JSON.stringify` for a string, faster for the ids, tokens and handler names the
 * compact encoders write several times per task: printable ASCII without `"`
 * or `\\` needs no escaping, and checking that costs a third of the call.
 */
export function quote(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return JSON.stringify(text);
  }
  return `"${text}"`;
}

/**
 * Encodes one attempt of a task in compact form, for a frame whose sender has
 * `replyTo`; its token is `` `${id}.${attempt}` ``. `payloadJson` is the payload
 * already JSON-encoded, or undefined for none. `deadline` must be finite;
 * `trace`, if any, must be valid (trace-context.ts).
 */
export function encodeCompactTask(
  id: string,
  attempt: number,
  handler: string,
  deadline: number,
  payloadJson: string | undefined,
  trace?: TraceContext,
): string {
  const head =
    trace === undefined
      ? `[${CompactKind.TASK},${quote(id)},${attempt},${quote(handler)},${deadline}`
      : `[${CompactKind.TRACED_TASK},${quote(id)},${attempt},${quote(handler)},${deadline},${compactTrace(trace)}`;
  return payloadJson === undefined ? `${head}]` : `${head},${payloadJson}]`;
}

/**
 * Encodes a re-sent attempt in compact form: a task that names the incarnation
 * of its worker that may already have run it (see {@link TaskMessage.incarnation}).
 */
export function encodeCompactResend(
  id: string,
  attempt: number,
  handler: string,
  deadline: number,
  incarnation: string,
  payloadJson: string | undefined,
  trace?: TraceContext,
): string {
  const head =
    trace === undefined
      ? `[${CompactKind.RESEND},${quote(id)},${attempt},${quote(handler)},${deadline},${quote(incarnation)}`
      : `[${CompactKind.TRACED_RESEND},${quote(id)},${attempt},${quote(handler)},${deadline},${quote(incarnation)},${compactTrace(trace)}`;
  return payloadJson === undefined ? `${head}]` : `${head},${payloadJson}]`;
}

/** A compact task's `trace` field: the traceparent alone, or with its tracestate. */
function compactTrace(trace: TraceContext): string {
  const parent = quote(trace.traceparent);
  return trace.tracestate === undefined ? parent : `[${parent},${quote(trace.tracestate)}]`;
}

/** Encodes an ack in compact form, for a frame whose sender has `worker`. */
export function encodeCompactAck(id: string, token: string): string {
  return `[${CompactKind.ACK},${quote(id)},${quote(token)}]`;
}

/**
 * Encodes a successful result in compact form, for a frame whose sender has
 * `worker`. `valueJson` is the value already JSON-encoded, or undefined for none.
 */
export function encodeCompactOk(id: string, token: string, valueJson: string | undefined): string {
  const head = `[${CompactKind.OK},${quote(id)},${quote(token)}`;
  return valueJson === undefined ? `${head}]` : `${head},${valueJson}]`;
}

/**
 * Encodes a successful result in compact form from the value itself, as one flat
 * string: a single `JSON.stringify` of the whole message. Concatenated around the
 * value's JSON, a result is a rope that every later join (the frame, the
 * finished-reply ring) must walk. Throws what `JSON.stringify` throws for the
 * value; like {@link encodeCompactOk}, it leaves out a value JSON leaves out.
 */
export function encodeCompactOkValue(id: string, token: string, value: unknown): string {
  // Inside an array JSON writes null for what it would leave out of an object
  // (undefined, a function, a symbol, a toJSON that gives undefined): those go the long way.
  if (
    value === undefined ||
    typeof value === 'function' ||
    typeof value === 'symbol' ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as { toJSON?: unknown }).toJSON === 'function')
  ) {
    return encodeCompactOk(id, token, JSON.stringify(value));
  }
  return JSON.stringify([CompactKind.OK, id, token, value]);
}

/** Encodes an error result in compact form, for a frame whose sender has `worker`. */
export function encodeCompactError(id: string, token: string, error: RemoteError): string {
  return `[${CompactKind.ERROR},${quote(id)},${quote(token)},${JSON.stringify(error)}]`;
}

/** Encodes messages as one frame. */
export function encode(messages: readonly Message[]): string {
  return encodeFrame(messages.map(encodeMessage));
}

/**
 * UTF-8 byte length of a string as far as `limit` is concerned: the result is
 * greater than `limit` exactly when the true byte length is. When the UTF-16
 * length alone settles that, it is returned instead, so the string is not scanned.
 */
export function byteLength(text: string, limit: number): number {
  // UTF-8 takes 1 to 3 bytes per UTF-16 unit, so the cheap bounds settle most cases.
  if (text.length > limit || text.length * 3 <= limit) return text.length;
  return Buffer.byteLength(text, 'utf8');
}

/**
 * Decodes an untrusted frame. Never throws: a frame that cannot be read at all
 * gives `{ ok: false }`; a readable frame gives its valid messages and, apart,
 * the ones that failed validation. The size limit is enforced before parsing,
 * and no returned object carries a `__proto__` key or a `constructor.prototype`
 * anywhere, so merging it cannot reach an object's prototype.
 */
export function decode(data: string | Uint8Array, options: DecodeOptions = {}): DecodeResult {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  let text: string;
  if (typeof data === 'string') {
    const size = byteLength(data, maxBytes);
    if (size > maxBytes) return tooLarge(size, maxBytes);
    text = data;
  } else if (data instanceof Uint8Array) {
    if (data.byteLength > maxBytes) return tooLarge(data.byteLength, maxBytes);
    text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  } else {
    return invalid('frame must be a string or bytes');
  }

  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    return invalid('frame is not valid JSON');
  }
  if (typeof root !== 'object' || root === null || Array.isArray(root)) {
    return invalid('frame must be an object');
  }
  const frame = root as Record<string, unknown>;
  if (frame['v'] !== PROTOCOL_VERSION) {
    if (typeof frame['v'] === 'number') {
      return {
        ok: false,
        error: new ProtocolError(
          ErrorCode.UNSUPPORTED_VERSION,
          `protocol version ${frame['v']} is not supported (this side speaks ${PROTOCOL_VERSION})`,
        ),
      };
    }
    return invalid('frame has no protocol version');
  }
  const list = frame['m'];
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_BATCH) {
    return invalid(`frame must carry 1 to ${MAX_BATCH} messages`);
  }

  // Walking every payload costs more than parsing it; the walk runs only when the
  // raw text could spell a dangerous key.
  const suspicious = mayHoldForbiddenKeys(text);

  const messages: Message[] = [];
  const rejected: RejectedMessage[] = [];
  droppedFields = undefined;
  for (const item of list) {
    try {
      if (suspicious) assertNoForbiddenKeys(item);
      messages.push(
        Array.isArray(item)
          ? parseCompact(item, frame, noteDropped)
          : parseMessage(item, noteDropped),
      );
    } catch (error) {
      const err =
        error instanceof ProtocolError
          ? error
          : new ProtocolError(ErrorCode.INVALID_MESSAGE, 'invalid message', { cause: error });
      const context = Array.isArray(item) ? compactContext(item, frame) : messageContext(item);
      rejected.push(context ? { error: err, context } : { error: err });
    }
  }
  if (droppedFields === undefined) return { ok: true, messages, rejected };
  const dropped = droppedFields;
  droppedFields = undefined;
  return { ok: true, messages, rejected, dropped };
}

/**
 * What the frame being decoded had left out of its messages. Decoding is
 * synchronous, so one module-level list serves every call, and a frame with
 * nothing dropped (nearly all) allocates nothing for it.
 */
let droppedFields: ProtocolError[] | undefined;

function noteDropped(error: ProtocolError): void {
  droppedFields ??= [];
  droppedFields.push(error);
}

/** Whether JSON text could spell a forbidden key, directly or through a `\u` escape. */
function mayHoldForbiddenKeys(text: string): boolean {
  return text.includes('__proto__') || text.includes('prototype') || text.includes('\\u');
}

/**
 * The error {@link decode} would reject one encoded message with for what it
 * holds (a forbidden key, or nesting too deep to search), or undefined: lets a
 * sender refuse to send what its receiver would drop, by the receiver's own
 * rules. The message is parsed only when its text could spell a forbidden key,
 * so the usual message costs two or three substring searches.
 *
 * Not covered: decode searches every message of a frame when any of it could
 * spell such a key, so a message nested deeper than the search goes (256) that
 * passes here may still be dropped beside one that cannot.
 */
export function checkEncodedMessage(encoded: string): ProtocolError | undefined {
  if (!mayHoldForbiddenKeys(encoded)) return undefined;
  try {
    assertNoForbiddenKeys(JSON.parse(encoded));
    return undefined;
  } catch (error) {
    return error instanceof ProtocolError
      ? error
      : new ProtocolError(ErrorCode.INVALID_MESSAGE, 'invalid message: not JSON', {
          cause: error,
        });
  }
}

/** Throws when a value holds a `__proto__` key or a `constructor` object with a `prototype`, at any depth. */
export function assertNoForbiddenKeys(value: unknown): void {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth > MAX_DEPTH) {
      throw new ProtocolError(
        ErrorCode.INVALID_MESSAGE,
        `invalid message: nested deeper than ${MAX_DEPTH}`,
      );
    }
    if (Array.isArray(current)) {
      for (const item of current) stack.push({ value: item, depth: depth + 1 });
      continue;
    }
    for (const key of Object.keys(current)) {
      const child = (current as Record<string, unknown>)[key];
      if (key === '__proto__') {
        throw new ProtocolError(ErrorCode.INVALID_MESSAGE, 'invalid message: "__proto__" key');
      }
      if (
        key === 'constructor' &&
        typeof child === 'object' &&
        child !== null &&
        Object.hasOwn(child, 'prototype')
      ) {
        throw new ProtocolError(
          ErrorCode.INVALID_MESSAGE,
          'invalid message: "constructor.prototype" key',
        );
      }
      stack.push({ value: child, depth: depth + 1 });
    }
  }
}

function invalid(why: string): DecodeResult {
  return {
    ok: false,
    error: new ProtocolError(ErrorCode.INVALID_MESSAGE, `invalid frame: ${why}`),
  };
}

function tooLarge(size: number, limit: number): DecodeResult {
  return {
    ok: false,
    error: new ProtocolError(
      ErrorCode.PAYLOAD_TOO_LARGE,
      `frame of ${size} bytes exceeds the limit of ${limit} bytes`,
    ),
  };
}
