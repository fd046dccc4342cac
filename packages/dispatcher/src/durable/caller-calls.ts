/**
 * The store calls a caller waits on — `submit()`'s write (a durable
 * `dispatch()`'s too), `task()`'s read, `cancel()` — each settled once, and
 * always. Redis refusing one (an OOM, an ACL, a script error) rejects it
 * `REDIS_ERROR`, with the cause kept and the message redacted; Redis not
 * answering within the dispatcher's `timeoutMs` (at least a second; Redis down,
 * or stalled) rejects it `REDIS_ERROR` too;
 * `close()` ends those still in flight `CLOSED`. Without the last two a call
 * could wait for ever: ringcast's connections wait through reconnects, and
 * ioredis never settles a command queued on a connection closed while it was
 * reconnecting.
 *
 * A write rejected for want of an answer may still be applied by Redis later:
 * its fate is unknown, not undone, and its message says so and how to find
 * out (the dispatcher README says what then becomes of the task).
 */
import { type Clock, ErrorCode, errorMessage } from '@ringcast/protocol';
import { DispatchError } from '../errors.js';

/** The least time a call is given: a latency spike is not an outage, whatever the task timeout. */
const MIN_BOUND_MS = 1_000;

interface Pending {
  readonly end: (error: DispatchError) => void;
  readonly expiresAt: number;
  /** Its `REDIS_ERROR` message when Redis did not answer in time. */
  readonly unanswered: string;
}

export class CallerCalls {
  readonly #clock: Pick<Clock, 'now'>;
  readonly #timeoutMs: number;
  readonly #pending = new Set<Pending>();

  constructor(clock: Pick<Clock, 'now'>, timeoutMs: number) {
    this.#clock = clock;
    this.#timeoutMs = Math.max(timeoutMs, MIN_BOUND_MS);
  }

  /**
   * `call`'s outcome, as the caller gets it. `what` leads its `REDIS_ERROR`
   * message ("the task could not be stored"); `unanswered` leads it instead when
   * Redis did not answer in time, for a write whose fate is then unknown.
   */
  run<T>(what: string, call: Promise<T>, unanswered = what): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const pending: Pending = {
        end: (error) => {
          if (this.#pending.delete(pending)) reject(error);
        },
        expiresAt: this.#clock.now() + this.#timeoutMs,
        unanswered: `${unanswered}: Redis did not answer within ${this.#timeoutMs} ms`,
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
      if (now >= pending.expiresAt) {
        pending.end(new DispatchError(ErrorCode.REDIS_ERROR, pending.unanswered));
      }
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
