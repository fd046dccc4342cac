/**
 * The store calls a caller waits on — `submit()`'s write (a durable
 * `dispatch()`'s too), `task()`'s read, `cancel()` — each settled once, and
 * always. Redis refusing one (an OOM, an ACL, a script error) rejects it
 * `REDIS_ERROR`, with the cause kept and the message redacted; Redis not
 * answering within `timeoutMs` (down, or stalled) rejects it `REDIS_ERROR` too;
 * `close()` ends those still in flight `CLOSED`. Without the last two a call
 * could wait for ever: ringcast's connections wait through reconnects, and
 * ioredis never settles a command queued on a connection closed while it was
 * reconnecting.
 *
 * A write rejected so may still be applied by Redis later: its fate is unknown,
 * not undone (the dispatcher README says what then becomes of the task).
 */
import { type Clock, ErrorCode, errorMessage } from '@ringcast/protocol';
import { DispatchError } from '../errors.js';

interface Pending {
  readonly end: (error: DispatchError) => void;
  readonly expiresAt: number;
  readonly what: string;
}

export class CallerCalls {
  readonly #clock: Pick<Clock, 'now'>;
  readonly #timeoutMs: number;
  readonly #pending = new Set<Pending>();

  constructor(clock: Pick<Clock, 'now'>, timeoutMs: number) {
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
  }

  /** `call`'s outcome, as the caller gets it; `what` leads its `REDIS_ERROR` message ("the task could not be stored"). */
  run<T>(what: string, call: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const pending: Pending = {
        end: (error) => {
          if (this.#pending.delete(pending)) reject(error);
        },
        expiresAt: this.#clock.now() + this.#timeoutMs,
        what,
      };
      this.#pending.add(pending);
      call.then(
        (value) => {
          if (this.#pending.delete(pending)) resolve(value);
        },
        (error: unknown) => pending.end(asDispatchError(error, what)),
      );
    });
  }

  /** Rejects the calls Redis has not answered within `timeoutMs`. */
  expire(now: number): void {
    for (const pending of this.#pending) {
      if (now < pending.expiresAt) continue;
      const message = `${pending.what}: Redis did not answer within ${this.#timeoutMs} ms`;
      pending.end(new DispatchError(ErrorCode.REDIS_ERROR, message));
    }
  }

  /** Ends every call still in flight `CLOSED`. */
  closeAll(reason: string): void {
    const error = new DispatchError(ErrorCode.CLOSED, reason);
    for (const pending of [...this.#pending]) pending.end(error);
  }
}

function asDispatchError(error: unknown, what: string): DispatchError {
  if (error instanceof DispatchError) return error;
  return new DispatchError(ErrorCode.REDIS_ERROR, `${what}: ${errorMessage(error)}`, {
    cause: error,
  });
}
