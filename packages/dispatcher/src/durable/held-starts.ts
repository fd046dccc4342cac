/**
 * The Redis store's `started` writes, held back for {@link STARTED_HOLD_MS}: a
 * task that finishes within that time has its attempt recorded by its
 * terminal write (the settle carries it), one write instead of two. One that
 * runs longer has it written on its own once the time is up; so does one
 * that another operation names first (a read, a release, a cancel, a settle
 * by someone else), so that every operation still sees what was issued
 * before it.
 *
 * What the hold changes: a running task's record shows its attempt up to
 * `STARTED_HOLD_MS` later, and a fenced-off owner learns it up to that much
 * later (its settle is refused all the same). A dispatcher that dies while
 * holding a start leaves that attempt uncounted in `attempts`; the task's
 * ownership and outcome do not depend on it.
 */
import type { Clock, Timer } from '@ringcast/protocol';
import type { StartedResult } from './store.js';

/** How long a `started` write waits for its task's settle to carry it. */
export const STARTED_HOLD_MS = 100;

/** An attempt started: what `started` writes. */
export interface StartedOp {
  id: string;
  key: string;
  owner: string;
  attempt: number;
  worker: string;
  now: number;
}

export interface HeldStart {
  readonly op: StartedOp;
  /** When it was held, by the store's clock. */
  readonly heldAt: number;
  resolve(result: StartedResult): void;
  reject(error: unknown): void;
}

export class HeldStarts {
  readonly #byId = new Map<string, HeldStart>();
  readonly #clock: Clock;
  /** Writes a start on its own (the store's batched `started`). */
  readonly #write: (held: HeldStart) => void;
  #timer: Timer | undefined;

  constructor(clock: Clock, write: (held: HeldStart) => void) {
    this.#clock = clock;
    this.#write = write;
  }

  /** Holds `op`; resolves as `started` does, once written or carried. */
  hold(op: StartedOp): Promise<StartedResult> {
    // A second attempt of the same task: the first is written now, in order.
    this.release(op.id);
    return new Promise<StartedResult>((resolve, reject) => {
      this.#byId.set(op.id, { op, heldAt: this.#clock.now(), resolve, reject });
      this.#timer ??= this.#clock.setTimeout(() => this.#sweep(), STARTED_HOLD_MS);
    });
  }

  /** Takes out the start held for `id` by `owner`, for its settle to carry. */
  take(id: string, owner: string | undefined): HeldStart | undefined {
    const held = this.#byId.get(id);
    if (held === undefined) return undefined;
    if (held.op.owner !== owner) {
      this.release(id);
      return undefined;
    }
    this.#byId.delete(id);
    return held;
  }

  /** Writes the start held for `id` now, if any: before another operation on that task. */
  release(id: string): void {
    const held = this.#byId.get(id);
    if (held === undefined) return;
    this.#byId.delete(id);
    this.#write(held);
  }

  /** Writes those held their full time; the rest wait for the next sweep. */
  #sweep(): void {
    this.#timer = undefined;
    const due = this.#clock.now() - STARTED_HOLD_MS;
    // In the order they were held: the first still young ends the sweep.
    for (const [id, held] of this.#byId) {
      if (held.heldAt > due) {
        const wait = Math.max(1, held.heldAt - due);
        this.#timer = this.#clock.setTimeout(() => this.#sweep(), wait);
        return;
      }
      this.#byId.delete(id);
      this.#write(held);
    }
  }
}
