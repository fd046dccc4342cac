/**
 * Reading durable records for callers: `task()`'s read, and the reads that
 * wake `result()` and durable `dispatch()` waiters ({@link OutcomeWaiters})
 * when their task finished elsewhere — at its settled announcement, or at a
 * poll, the safety net for an announcement missed. Reads are kept few: one
 * per id at a time, and a poll looks first (`task-peek.ts`) and reads only
 * what has something to read.
 */
import { ErrorCode, errorMessage } from '@ringcast/protocol';
import { DispatchError } from '../errors.js';
import type { DurableHost } from './durable-context.js';
import type { OutcomeWaiters } from './outcome-waiters.js';
import type { DurableRecord } from './record.js';
import type { DurableStore } from './store.js';
import type { StoreWrites } from './store-writes.js';
import { settledOf } from './task-info.js';
import { worthReading } from './task-peek.js';

export class RecordReads {
  readonly #host: DurableHost;
  readonly #waiters: OutcomeWaiters;
  readonly #writes: StoreWrites;
  /** The store, or a CLOSED error if the durable side is not running. */
  readonly #storeOrClosed: () => DurableStore;
  /** The store while running; undefined before start() and once closing. */
  readonly #liveStore: () => DurableStore | undefined;
  /** Whether a poll's looks at the waited-for tasks are under way. */
  #polling = false;
  /** Tasks whose record is being read for their waiters: true if asked to read again after. */
  readonly #reading = new Map<string, boolean>();

  constructor(
    host: DurableHost,
    waiters: OutcomeWaiters,
    writes: StoreWrites,
    storeOrClosed: () => DurableStore,
    liveStore: () => DurableStore | undefined,
  ) {
    this.#host = host;
    this.#waiters = waiters;
    this.#writes = writes;
    this.#storeOrClosed = storeOrClosed;
    this.#liveStore = liveStore;
  }

  /**
   * Reads `id`'s record and wakes its waiters if it finished, or is gone. One
   * read per id at a time: with many waiters, a poll that outlasts its interval
   * must not pile up reads. A check asked for meanwhile (its settled
   * announcement came) reads once more after it.
   */
  check(id: string): void {
    if (this.#reading.has(id)) {
      this.#reading.set(id, true);
      return;
    }
    this.#reading.set(id, false);
    this.#writes.track(
      this.read(id)
        .then(
          (record) => {
            if (record === undefined) {
              this.#waiters.fail(id, unknownTask(id));
              return;
            }
            const settled = settledOf(record);
            if (settled) this.#waiters.wake(id, settled);
          },
          // A failed read is tried again at the next poll.
          (error: unknown) =>
            this.#host.log.warn('durable', `reading task ${id} failed: ${errorMessage(error)}`, {
              task: id,
            }),
        )
        .finally(() => {
          const again = this.#reading.get(id);
          this.#reading.delete(id);
          if (again && this.#waiters.has(id)) this.check(id);
        }),
    );
  }

  /**
   * Looks at every waited-for task not running here, and reads the record of
   * those with something to read (task-peek.ts): one look at a time, so that
   * looks slower than their interval do not pile up.
   */
  poll(): void {
    const store = this.#liveStore();
    if (this.#polling || store === undefined) return;
    const ledger = this.#host.ledger;
    // Running here: its own terminal write wakes its waiters, no read needed.
    const ids = this.#waiters.ids().filter((id) => !ledger.byId(id)?.durable);
    if (ids.length === 0) return;
    this.#polling = true;
    const now = this.#host.clock.now();
    let failed = 0;
    const looks = ids.map((id) =>
      store.peek(id).then(
        (peek) => {
          if (worthReading(peek, now)) this.check(id);
        },
        () => failed++,
      ),
    );
    this.#writes.track(
      Promise.all(looks).then(() => {
        this.#polling = false;
        // Tried again at the next poll.
        if (failed > 0)
          this.#host.log.warn('durable', `looking at ${failed} waited-for tasks failed`);
      }),
    );
  }

  /**
   * The record; a task that waited past its `maxWaitMs` is failed `EXPIRED`
   * first (expiry is lazy: at a claim or a read).
   */
  async read(id: string): Promise<DurableRecord | undefined> {
    const store = this.#storeOrClosed();
    const record = await store.get(id);
    if (
      record === undefined ||
      record.expiresAt === undefined ||
      (record.state !== 'waiting' && record.state !== 'delayed')
    ) {
      return record;
    }
    const now = this.#host.clock.now();
    if (now <= record.expiresAt) return record;
    await store.settle(
      id,
      undefined,
      {
        state: 'failed',
        error: {
          code: ErrorCode.EXPIRED,
          message: 'no dispatcher claimed the task within maxWaitMs',
        },
      },
      now,
    );
    return store.get(id);
  }
}

/**
 * An id with no record: never submitted, or finished longer ago than its
 * `resultTtlMs`. `INVALID_OPTIONS`: the id given is not one that can be waited for.
 */
function unknownTask(id: string): DispatchError {
  return new DispatchError(
    ErrorCode.INVALID_OPTIONS,
    `no durable task ${id}: never submitted, or its record expired after its resultTtlMs`,
  );
}
