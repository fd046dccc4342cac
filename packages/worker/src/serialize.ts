import {
  byteLength,
  checkEncodedMessage,
  encodeCompactAck,
  encodeCompactError,
  encodeCompactOkValue,
  encodeMessage,
  frameOverhead,
  jsonLoss,
  type NackReason,
  type RemoteError,
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
      return UNPRINTABLE;
    }
  }
}

/** What stands for a part of a thrown value that cannot be read or printed. */
const UNPRINTABLE = '[unprintable value]';

/** Reads a property without letting a throwing getter or proxy escape. */
function read(value: object, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/**
 * `value instanceof Error`, false where even asking throws: a revoked proxy, or a
 * proxy whose `getPrototypeOf` trap throws, anywhere on the prototype chain.
 */
function isError(value: unknown): value is Error {
  try {
    return value instanceof Error;
  } catch {
    return false;
  }
}

/** The message of whatever was thrown, as a string. Never throws. */
function messageOf(thrown: unknown): string {
  if (!isError(thrown)) return safeString(thrown);
  let message: unknown;
  try {
    message = thrown.message;
  } catch {
    return UNPRINTABLE;
  }
  if (message === undefined) return '';
  return typeof message === 'string' ? message : safeString(message);
}

/**
 * What a handler threw, as the wire's {@link RemoteError}: an Error's name,
 * message (truncated), `retryable === true` and a short string `code`; any other
 * thrown value becomes `NonError` with its string form. Never throws, whatever
 * was thrown: every step that could run the thrower's code (a getter, a proxy
 * trap, `toString`) is guarded.
 */
export function serializeError(error: unknown): RemoteError {
  if (isError(error)) {
    const name = read(error, 'name');
    const code = read(error, 'code');
    const out: RemoteError = {
      name: typeof name === 'string' && name.length > 0 ? name.slice(0, MAX_NAME) : 'Error',
      message: messageOf(error).slice(0, MAX_MESSAGE),
      retryable: read(error, 'retryable') === true,
    };
    if (typeof code === 'string' && code.length > 0 && code.length <= MAX_CODE) out.code = code;
    return out;
  }
  return { name: 'NonError', message: safeString(error).slice(0, MAX_MESSAGE), retryable: false };
}

/**
 * Encodes one worker's replies. Acks and results take the compact form, whose
 * frames carry the worker's id and incarnation once ({@link ReplyEncoder.sender});
 * nacks, rare, keep the object form. A reply is written for every task, so only
 * what varies (ids, the value, the error) is JSON-encoded here.
 */
export class ReplyEncoder {
  /** What the frames carrying these replies must say of their sender. */
  readonly sender: { readonly worker: string; readonly incarnation: string };
  /** Bytes a frame from this sender adds around one reply. */
  readonly #overhead: number;
  readonly #limit: number;

  /** `maxBytes` bounds the replies to dispatchers that did not say what they accept. */
  constructor(worker: string, incarnation: string, maxBytes: number) {
    this.sender = { worker, incarnation };
    this.#overhead = frameOverhead(1, this.sender);
    this.#limit = maxBytes - this.#overhead;
  }

  /** Bytes left for one reply to a dispatcher that accepts frames of `maxBytes`. */
  #limitFor(maxBytes: number | undefined): number {
    return maxBytes === undefined ? this.#limit : maxBytes - this.#overhead;
  }

  /** The attempt arrived and is queued or running. */
  ack(id: string, token: string): string {
    return encodeCompactAck(id, token);
  }

  /** The attempt was not taken. Nacks carry no incarnation: they refuse, they claim nothing. */
  nack(id: string, token: string, reason: NackReason, message: string): string {
    return encodeMessage({
      kind: 'nack',
      id,
      token,
      worker: this.sender.worker,
      reason,
      message: message.slice(0, MAX_MESSAGE),
    });
  }

  /**
   * A successful result. A value JSON cannot encode (a BigInt, a cycle, a
   * throwing `toJSON`), would drop (a function or symbol), or would change at
   * its top level (a Map, NaN: protocol's `jsonLoss`), becomes a `TypeError` result, one too large for a frame a
   * `RangeError` result, and one the dispatcher's decoder would drop (a
   * `__proto__` key, say from echoed client JSON) an `InvalidResult` result, so a
   * bad value never crashes the worker or leaves its caller waiting for the
   * timeout. `ok` says which it was. `maxBytes` is the frame limit of the
   * dispatcher it goes to, when it said.
   */
  ok(
    id: string,
    token: string,
    value: unknown,
    maxBytes?: number,
  ): { encoded: string; ok: boolean } {
    let encoded: string;
    try {
      // JSON leaves these out: the caller would get undefined for a value the handler gave.
      if (typeof value === 'function' || typeof value === 'symbol') {
        throw new TypeError(`a ${typeof value} has no JSON form`);
      }
      // Or changes them (a Map to {}, NaN to null): the caller would get another value.
      const loss = jsonLoss(value);
      if (loss !== undefined)
        throw new TypeError(typeof value === 'object' ? `a value ${loss}` : loss);
      encoded = encodeCompactOkValue(id, token, value);
    } catch (thrown) {
      const why = messageOf(thrown);
      const error: RemoteError = {
        name: 'TypeError',
        message: `handler result is not JSON-serialisable: ${why}`.slice(0, MAX_MESSAGE),
        retryable: false,
      };
      return { encoded: this.error(id, token, error, maxBytes), ok: false };
    }
    const limit = this.#limitFor(maxBytes);
    const size = byteLength(encoded, limit);
    if (size > limit) {
      const error: RemoteError = {
        name: 'RangeError',
        message: `handler result encodes to ${size} bytes, over the limit of ${limit} bytes`,
        retryable: false,
      };
      return { encoded: this.error(id, token, error, maxBytes), ok: false };
    }
    const refused = checkEncodedMessage(encoded);
    if (refused) {
      const error: RemoteError = {
        name: 'InvalidResult',
        message: `handler result would be dropped by the dispatcher: ${refused.message}`,
        retryable: false,
      };
      return { encoded: this.error(id, token, error, maxBytes), ok: false };
    }
    return { encoded, ok: true };
  }

  /** An error result, its message shortened if the whole would not fit a frame of `maxBytes`. */
  error(id: string, token: string, error: RemoteError, maxBytes?: number): string {
    const encoded = encodeCompactError(id, token, error);
    const limit = this.#limitFor(maxBytes);
    if (byteLength(encoded, limit) <= limit) return encoded;
    const short = { ...error, message: `${error.message.slice(0, SHORT_MESSAGE)}… (truncated)` };
    return encodeCompactError(id, token, short);
  }
}
