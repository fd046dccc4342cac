import {
  byteLength,
  encodeMessage,
  frameOverhead,
  type RemoteError,
  type ResultMessage,
} from '@ringcast/protocol';

const MAX_NAME = 128;
const MAX_MESSAGE = 8_192;
const MAX_CODE = 64;
/** Message length an error result falls back to when the full one would not fit a frame. */
const SHORT_MESSAGE = 512;

/** `String(value)` that cannot throw, whatever `toString` or `Symbol.toPrimitive` do. */
export function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return '[unprintable value]';
    }
  }
}

/** Reads a property without letting a throwing getter or proxy escape. */
function read(value: object, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/**
 * What a handler threw, as the wire's {@link RemoteError}: an Error's name,
 * message (truncated), `retryable === true` and a short string `code`; any other
 * thrown value becomes `NonError` with its string form. Never throws.
 */
export function serializeError(error: unknown): RemoteError {
  if (error instanceof Error) {
    const name = read(error, 'name');
    const message = read(error, 'message');
    const code = read(error, 'code');
    const out: RemoteError = {
      name: typeof name === 'string' && name.length > 0 ? name.slice(0, MAX_NAME) : 'Error',
      message: (typeof message === 'string' ? message : safeString(message)).slice(0, MAX_MESSAGE),
      retryable: read(error, 'retryable') === true,
    };
    if (typeof code === 'string' && code.length > 0 && code.length <= MAX_CODE) out.code = code;
    return out;
  }
  return { name: 'NonError', message: safeString(error).slice(0, MAX_MESSAGE), retryable: false };
}

interface Reply {
  id: string;
  token: string;
  worker: string;
  incarnation?: string;
}

/** Bytes left for one message in a frame of `maxBytes`. */
export function messageLimit(maxBytes: number): number {
  return maxBytes - frameOverhead(1);
}

/** Encodes an error result, shortening the message if the whole would not fit a frame. */
export function encodeErrorResult(reply: Reply, error: RemoteError, maxBytes: number): string {
  const message: ResultMessage = { kind: 'result', ...reply, ok: false, error };
  const encoded = encodeMessage(message);
  if (byteLength(encoded, messageLimit(maxBytes)) <= messageLimit(maxBytes)) return encoded;
  return encodeMessage({
    ...message,
    error: { ...error, message: `${error.message.slice(0, SHORT_MESSAGE)}… (truncated)` },
  });
}

/**
 * Encodes a successful result. A value JSON cannot encode (a BigInt, a cycle, a
 * throwing `toJSON`) becomes a `TypeError` result, and one too large for a frame
 * a `RangeError` result, so a bad value never crashes the worker or goes unanswered.
 */
export function encodeOkResult(
  reply: Reply,
  value: unknown,
  maxBytes: number,
): { encoded: string; ok: boolean } {
  const message: ResultMessage =
    value === undefined
      ? { kind: 'result', ...reply, ok: true }
      : { kind: 'result', ...reply, ok: true, value };
  let encoded: string;
  try {
    encoded = encodeMessage(message);
  } catch (thrown) {
    const why = thrown instanceof Error ? safeString(thrown.message) : safeString(thrown);
    const error: RemoteError = {
      name: 'TypeError',
      message: `handler result is not JSON-serialisable: ${why}`.slice(0, MAX_MESSAGE),
      retryable: false,
    };
    return { encoded: encodeErrorResult(reply, error, maxBytes), ok: false };
  }
  const limit = messageLimit(maxBytes);
  const size = byteLength(encoded, limit);
  if (size > limit) {
    const error: RemoteError = {
      name: 'RangeError',
      message: `handler result encodes to ${size} bytes, over the limit of ${limit} bytes`,
      retryable: false,
    };
    return { encoded: encodeErrorResult(reply, error, maxBytes), ok: false };
  }
  return { encoded, ok: true };
}
