import {
  byteLength,
  encodeMessage,
  frameOverhead,
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

/** Bytes left for one message in a frame of `maxBytes`. */
export function messageLimit(maxBytes: number): number {
  return maxBytes - frameOverhead(1);
}

/**
 * Encodes one worker's replies. They are built as strings around parts computed
 * once (the worker's id and incarnation), not as objects handed to
 * `JSON.stringify`: a reply is written for every task, and this is its hot path.
 * Only the values that vary (ids, the result value, the error) are JSON-encoded,
 * so the output is always valid JSON that `decode` accepts.
 */
export class ReplyEncoder {
  /** `,"worker":…,"incarnation":…` */
  readonly #sender: string;
  readonly #worker: string;
  readonly #limit: number;

  constructor(worker: string, incarnation: string | undefined, maxBytes: number) {
    this.#worker = worker;
    this.#sender =
      `,"worker":${JSON.stringify(worker)}` +
      (incarnation === undefined ? '' : `,"incarnation":${JSON.stringify(incarnation)}`);
    this.#limit = messageLimit(maxBytes);
  }

  /** The attempt arrived and is queued or running. */
  ack(id: string, token: string): string {
    return `{"kind":"ack","id":${JSON.stringify(id)},"token":${JSON.stringify(token)}${this.#sender}}`;
  }

  /** The attempt was not taken. Nacks carry no incarnation: they refuse, they claim nothing. */
  nack(id: string, token: string, reason: NackReason, message: string): string {
    return encodeMessage({
      kind: 'nack',
      id,
      token,
      worker: this.#worker,
      reason,
      message: message.slice(0, MAX_MESSAGE),
    });
  }

  /**
   * A successful result. A value JSON cannot encode (a BigInt, a cycle, a
   * throwing `toJSON`) becomes a `TypeError` result, and one too large for a
   * frame a `RangeError` result, so a bad value never crashes the worker or goes
   * unanswered. `ok` says which it was.
   */
  ok(id: string, token: string, value: unknown): { encoded: string; ok: boolean } {
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (thrown) {
      const why = thrown instanceof Error ? safeString(thrown.message) : safeString(thrown);
      const error: RemoteError = {
        name: 'TypeError',
        message: `handler result is not JSON-serialisable: ${why}`.slice(0, MAX_MESSAGE),
        retryable: false,
      };
      return { encoded: this.error(id, token, error), ok: false };
    }
    // A value JSON leaves out (undefined, a function) is left out here too.
    const encoded =
      json === undefined
        ? `${this.#head(id, token)},"ok":true}`
        : `${this.#head(id, token)},"ok":true,"value":${json}}`;
    const size = byteLength(encoded, this.#limit);
    if (size > this.#limit) {
      const error: RemoteError = {
        name: 'RangeError',
        message: `handler result encodes to ${size} bytes, over the limit of ${this.#limit} bytes`,
        retryable: false,
      };
      return { encoded: this.error(id, token, error), ok: false };
    }
    return { encoded, ok: true };
  }

  /** An error result, its message shortened if the whole would not fit a frame. */
  error(id: string, token: string, error: RemoteError): string {
    const encoded = `${this.#head(id, token)},"ok":false,"error":${JSON.stringify(error)}}`;
    if (byteLength(encoded, this.#limit) <= this.#limit) return encoded;
    const short = { ...error, message: `${error.message.slice(0, SHORT_MESSAGE)}… (truncated)` };
    return `${this.#head(id, token)},"ok":false,"error":${JSON.stringify(short)}}`;
  }

  #head(id: string, token: string): string {
    return `{"kind":"result","id":${JSON.stringify(id)},"token":${JSON.stringify(token)}${this.#sender}`;
  }
}
