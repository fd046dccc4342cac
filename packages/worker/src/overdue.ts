/**
 * Slots held past their task's deadline.
 *
 * At a task's deadline the worker aborts `ctx.signal`; the dispatcher has given
 * up on the task and counts the slot free again. A handler that ignores its
 * signal keeps running, and keeps its slot: the worker then nacks `BUSY`, or
 * queues tasks behind slots that never free, while every dispatcher still sees
 * free capacity and routes to it. Nothing can stop a JavaScript function from
 * outside, so the worker does the next best thing: it counts such slots (once a
 * handler has outlived its deadline by {@link OVERDUE_AFTER_MS}), reports them in
 * its stats and its heartbeat, where dispatchers take them off its capacity, and
 * logs which handlers hold them, at most once per 10 s while there are any.
 */
import type { FieldLogger } from '@ringcast/protocol';

/**
 * Grace past the deadline before a running handler counts as overdue: the abort
 * reaches it within one deadline sweep, and a handler that honours it may still
 * need a moment to unwind (close a socket, roll back).
 */
export const OVERDUE_AFTER_MS = 1_000;
const LOG_INTERVAL_MS = 10_000;

export class OverdueSlots {
  readonly #concurrency: number;
  readonly #logger: FieldLogger;
  readonly #changed: (count: number) => void;
  #count = 0;
  #nextLog = Number.NEGATIVE_INFINITY;

  /** `changed` hears every new count. */
  constructor(concurrency: number, logger: FieldLogger, changed: (count: number) => void) {
    this.#concurrency = concurrency;
    this.#logger = logger;
    this.#changed = changed;
  }

  get count(): number {
    return this.#count;
  }

  /**
   * The result of one deadline sweep (every 50 ms): the handler name of every
   * overdue attempt, or undefined for none (the common case: no array is made).
   * The warning is built only when it is due, at most once per interval.
   */
  update(handlers: string[] | undefined, now: number): void {
    const count = handlers?.length ?? 0;
    if (count !== this.#count) {
      this.#count = count;
      this.#changed(count);
    }
    if (handlers === undefined || now < this.#nextLog) return;
    this.#nextLog = now + LOG_INTERVAL_MS;
    const byHandler = new Map<string, number>();
    for (const name of handlers) byHandler.set(name, (byHandler.get(name) ?? 0) + 1);
    const list = [...byHandler].map(([name, n]) => `${JSON.stringify(name)} x${n}`).join(', ');
    try {
      this.#logger.warn(
        `${count} of ${this.#concurrency} slot(s) held past their task's deadline ` +
          `by handler(s) that ignore ctx.signal: ${list}; dispatchers count them against this worker's ` +
          'capacity until they return',
        {
          overdue: count,
          concurrency: this.#concurrency,
          handler: byHandler.size === 1 ? [...byHandler.keys()][0] : undefined,
        },
      );
    } catch {
      // A broken logger must not take the worker down.
    }
  }
}
