/**
 * Callers waiting for durable tasks' outcomes, by task id: `result(id)` and the
 * promise of a durable `dispatch()`, whichever dispatcher runs the task. They
 * are woken by this dispatcher's own terminal write, by the id arriving on the
 * settled channel (then the record is read), and by a periodic re-read, the
 * safety net for a publish missed while the subscriber was away. Every waiter
 * ends: with the outcome, at its own timeout (`TIMEOUT`), or at `close()`
 * (`CLOSED`).
 */
import { type Clock, ErrorCode, type Timer } from '@ringcast/protocol';
import { DispatchError } from '../errors.js';
import { errorOf, type Settled } from './task-info.js';

interface Waiter {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  timer: Timer | undefined;
}

/** A waiter registered with {@link OutcomeWaiters.register}. */
export interface Registration {
  readonly outcome: Promise<unknown>;
  /** Takes the waiter back: its outcome is then never settled by this. */
  withdraw(): void;
}

export class OutcomeWaiters {
  readonly #clock: Clock;
  readonly #byId = new Map<string, Set<Waiter>>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get size(): number {
    return this.#byId.size;
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** The ids waited for now. */
  ids(): string[] {
    return [...this.#byId.keys()];
  }

  /** A promise of `id`'s outcome; `timeoutMs` (if given) bounds the wait with `TIMEOUT`. */
  wait(id: string, timeoutMs: number | undefined): Promise<unknown> {
    return this.register(id, timeoutMs).outcome;
  }

  /** As {@link wait}, for a caller that may yet take the waiter back. */
  register(id: string, timeoutMs: number | undefined): Registration {
    const waiter: Waiter = { resolve: () => {}, reject: () => {}, timer: undefined };
    const outcome = new Promise((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.reject = reject;
    });
    let set = this.#byId.get(id);
    if (!set) {
      set = new Set();
      this.#byId.set(id, set);
    }
    set.add(waiter);
    if (timeoutMs !== undefined) {
      waiter.timer = this.#clock.setTimeout(() => {
        this.#remove(id, waiter);
        const message = `durable task ${id} did not finish within ${timeoutMs} ms; it goes on`;
        waiter.reject(new DispatchError(ErrorCode.TIMEOUT, message));
      }, timeoutMs);
    }
    return {
      outcome,
      withdraw: () => {
        this.#clock.clearTimer(waiter.timer);
        this.#remove(id, waiter);
      },
    };
  }

  /** Settles every waiter of `id` with its outcome. */
  wake(id: string, outcome: Settled): void {
    this.#end(id, (w) =>
      outcome.ok ? w.resolve(outcome.value) : w.reject(errorOf(outcome.error)),
    );
  }

  /** Rejects every waiter of `id` with `error`. */
  fail(id: string, error: DispatchError): void {
    this.#end(id, (w) => w.reject(error));
  }

  /** Rejects every waiter with `error` (close). */
  failAll(error: DispatchError): void {
    for (const id of this.ids()) this.fail(id, error);
  }

  #end(id: string, settle: (waiter: Waiter) => void): void {
    const set = this.#byId.get(id);
    if (!set) return;
    this.#byId.delete(id);
    for (const waiter of set) {
      this.#clock.clearTimer(waiter.timer);
      settle(waiter);
    }
  }

  #remove(id: string, waiter: Waiter): void {
    const set = this.#byId.get(id);
    if (!set) return;
    set.delete(waiter);
    if (set.size === 0) this.#byId.delete(id);
  }
}
