/**
 * Drawing durable work from the shared backlog, and running what this
 * dispatcher owns. A dispatcher claims only what its workers have room for
 * (free slots, an empty local queue), one claim at a time, every
 * `CLAIM_INTERVAL_MS` and whenever one of its durable tasks ends.
 *
 * A task it owns runs as a normal {@link Task} through the same ledger,
 * delivery, acks, fencing, retries and timeouts as a non-durable one; only its
 * id is the durable id, and its attempts and outcome go to the store
 * ({@link OutcomeWriter}).
 */
import { ErrorCode, errorMessage } from '@ringcast/protocol';
import { newTask } from '../task.js';
import { exactTaskBytes, traceBytes } from '../task-size.js';
import type { Task } from '../worker-state.js';
import type { DurableContext } from './durable-context.js';
import { CANCELLED_BY_REQUEST, cancelledOutcome, type OutcomeWriter } from './outcome-writer.js';
import type { DurableRecord } from './record.js';
import type { KnownRecords } from './store.js';

/** How often the backlog is looked at for work, when workers have room. */
export const CLAIM_INTERVAL_MS = 100;
/** Most tasks one claim takes. */
const CLAIM_BATCH = 1_000;

export class ClaimLoop {
  readonly #c: DurableContext;
  readonly #writer: OutcomeWriter;
  #claiming = false;
  #claimQueued = false;
  /** Submits claiming their task at once, and the claim, whose write is in flight: slots promised, not yet taken. */
  #reserved = 0;

  /** The dispatcher's copy of a task it stored for a `dispatch()` still waiting. */
  readonly #knownOf: KnownRecords;

  constructor(context: DurableContext, writer: OutcomeWriter) {
    this.#c = context;
    this.#writer = writer;
    this.#knownOf = (id) => context.known.get(id);
  }

  /**
   * Room for a task of `handler` now, counting the slots promised to submits in
   * flight: a live worker has a free slot and the local queue is empty.
   */
  hasRoomFor(handler: string, now: number): boolean {
    const host = this.#c.host;
    return (
      host.queue.size === 0 &&
      host.membership.freeSlots(now) > this.#reserved &&
      host.membership.hasRoomFor(handler, now)
    );
  }

  /** A submit claims its own task: one slot is promised until `unreserve`. */
  reserve(): void {
    this.#reserved++;
  }

  unreserve(): void {
    this.#reserved--;
  }

  /** Claims as many backlog tasks as workers have room for, soon (one claim at a time). */
  claimSoon(): void {
    const c = this.#c;
    if (c.stopped()) return;
    if (this.#claiming) {
      this.#claimQueued = true;
      return;
    }
    const host = c.host;
    if (host.closedReason() !== undefined) return;
    const now = host.clock.now();
    const free = host.membership.freeSlots(now) - this.#reserved;
    const n = host.queue.size === 0 ? Math.min(CLAIM_BATCH, free) : 0;
    if (n <= 0) return;
    this.#claiming = true;
    // Promised to this claim until it returns: a submit meanwhile must not count them free.
    this.#reserved += n;
    const known = c.known;
    const claimed = c.store.claim(host.id, n, now, known.size > 0 ? this.#knownOf : undefined).then(
      (records) => {
        this.#reserved -= n;
        const at = host.clock.now();
        c.stats.claimed += records.length;
        for (const record of records) this.run(record, at);
        host.queue.pump();
      },
      (error: unknown) => {
        this.#reserved -= n;
        host.log.warn('durable', `claim failed: ${errorMessage(error)}`);
      },
    );
    c.writes.track(
      claimed.finally(() => {
        this.#claiming = false;
        if (this.#claimQueued) {
          this.#claimQueued = false;
          this.claimSoon();
        }
      }),
    );
  }

  /**
   * Runs a task this dispatcher now owns, as a normal task: claimed, adopted, or
   * its own submit's. Its attempts go on from the last one recorded, so a token
   * never repeats across owners.
   */
  run(record: DurableRecord, now: number): void {
    const { host } = this.#c;
    const id = record.id;
    // Already running here (adopted back from a process that had it): one copy is enough.
    if (host.ledger.byId(id)) return;
    if (this.#c.stopped() || host.closing()) {
      // Taken while closing: back to the backlog, for another dispatcher.
      this.#writer.release(id);
      return;
    }
    if (record.cancelRequested) {
      this.#writer.write(id, cancelledOutcome(CANCELLED_BY_REQUEST));
      return;
    }
    if (record.expiresAt !== undefined && record.attempts === 0 && now > record.expiresAt) {
      this.#writer.write(id, {
        state: 'failed',
        error: {
          code: ErrorCode.EXPIRED,
          message: 'no dispatcher claimed the task within maxWaitMs',
        },
      });
      return;
    }
    if (!(host.queue.size === 0 && host.membership.hasRoomFor(record.handler, now))) {
      // Taken by count, but no worker for its handler has room: its timeout would
      // run while it waits here. Back to the backlog, for when one has.
      this.#writer.release(id);
      return;
    }
    // A record built from its submitter's copy carries its payload's text: sent as stored.
    const payload =
      record.payloadJson ??
      (record.payload === undefined ? undefined : JSON.stringify(record.payload));
    const deadline = now + record.timeoutMs;
    const task: Task = newTask({
      seq: host.ledger.nextSeq(),
      id,
      durable: true,
      handler: record.handler,
      payload,
      bytes: exactTaskBytes(id, host.id, record.handler, payload) + traceBytes(record.trace),
      deadline,
      key: record.key,
      priority: record.priority,
      resolve: (value) => this.#writer.succeeded(id, value),
      reject: (error) => this.#writer.failed(id, error),
      retries: record.retries,
      signal: undefined,
      attempt: record.attempts,
    });
    // Its attempts continue the trace of whoever submitted it, here or elsewhere.
    if (record.trace !== undefined) host.traces.carry(task, record.trace);
    host.ledger.add(task);
    host.counters.dispatched++;
    if (!(host.queue.size === 0 && host.delivery.send(task, now))) {
      host.queue.push(task);
      host.wheel.schedule(task, deadline);
    }
  }
}
