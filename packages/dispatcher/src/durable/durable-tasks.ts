/**
 * Durable tasks in the dispatcher: `submit`, `task`, `result` and `cancel`,
 * this dispatcher's presence as an owner, and the claim loop that draws work
 * from the shared backlog when workers have room.
 *
 * A claimed task runs as a normal {@link Task} through the same ledger,
 * delivery, acks, fencing, retries and timeouts as a non-durable one; only its
 * id is the durable id, each attempt sent is recorded (`store.started`), and
 * its `resolve`/`reject` write the outcome with the fenced `store.settle`
 * before the callers hear it. Callers — a durable `dispatch()` here, `result()`
 * anywhere — wait in {@link OutcomeWaiters}.
 *
 * What a terminal write can answer: `settled` (callers get the outcome),
 * `already` (another write won: callers get the stored outcome, a late write
 * counted), `stale` (another owner holds the task: callers wait for its
 * outcome on the settled channel, counted). A task whose `started` is refused
 * is no longer ours: it is cancelled on its worker and dropped here, with no
 * write (counted).
 */
import { hostname } from 'node:os';
import {
  type Clock,
  ErrorCode,
  errorMessage,
  isValidId,
  type Names,
  type Timer,
} from '@ringcast/protocol';
import { nanoid } from 'nanoid';
import { encodePayload } from '../admission.js';
import type { Delivery } from '../delivery.js';
import { DispatchError } from '../errors.js';
import type { Ledger } from '../ledger.js';
import type { LocalQueue } from '../local-queue.js';
import type { DispatcherLog } from '../log.js';
import type { Membership } from '../membership.js';
import type { ResolvedOptions } from '../options.js';
import type { Settlement } from '../settlement.js';
import type { Counters } from '../stats.js';
import { TaskState as State } from '../task.js';
import { exactTaskBytes, tooLargeForWorkers } from '../task-size.js';
import type { TimerWheel } from '../timer-wheel.js';
import type { DispatcherTransport } from '../transport.js';
import type { Task, WorkerState } from '../worker-state.js';
import { readDurableOptions } from './durable-options.js';
import { OutcomeWaiters } from './outcome-waiters.js';
import type { DurableRecord, NewRecord } from './record.js';
import type { DurableStore, Outcome } from './store.js';
import { type Settled, settledOf, type TaskInfo, taskInfo } from './task-info.js';

/** How often the backlog is looked at for work, when workers have room. */
export const CLAIM_INTERVAL_MS = 100;
/** How often `result()` waiters re-read their records: the safety net for a missed settled message. */
export const RESULT_POLL_MS = 1_000;
/** How soon a terminal write Redis refused is tried again. */
const SETTLE_RETRY_MS = 500;
/** Most tasks one claim takes. */
const CLAIM_BATCH = 1_000;

/** What the durable side needs of the rest of the dispatcher. */
export interface DurableHost {
  readonly id: string;
  readonly names: Names;
  readonly options: Pick<
    ResolvedOptions,
    'timeoutMs' | 'maxMessageBytes' | 'ownerHeartbeatMs' | 'maxBacklog'
  >;
  readonly clock: Clock;
  readonly counters: Counters;
  readonly log: Pick<DispatcherLog, 'warn'>;
  readonly ledger: Pick<Ledger, 'nextSeq' | 'add' | 'byId'>;
  readonly membership: Pick<Membership, 'size' | 'largestFrameFor' | 'freeSlots' | 'hasRoomFor'>;
  readonly queue: Pick<LocalQueue, 'size' | 'push' | 'pump'>;
  readonly wheel: Pick<TimerWheel<Task>, 'schedule'>;
  readonly delivery: Pick<Delivery, 'send'>;
  readonly settlement: Pick<Settlement, 'fail'>;
  readonly transport: Pick<DispatcherTransport, 'publish' | 'durableStore'>;
  /** Why no task is taken now (not started, closed), or undefined while running. */
  closedReason(): string | undefined;
}

/** Counts of the durable side, for `stats().durable`. */
export interface DurableStats {
  /** Tasks this dispatcher claimed to run (at submit, or from the backlog). */
  claimed: number;
  /** Terminal writes refused because another owner held the task. */
  staleSettles: number;
  /** Terminal writes refused because the task had finished already. */
  lateWrites: number;
  /** Tasks dropped here because the store said another owner held them. */
  dropped: number;
  /** Active tasks given back to the backlog at close. */
  released: number;
}

export class DurableTasks {
  readonly #host: DurableHost;
  readonly #waiters: OutcomeWaiters;
  readonly stats: DurableStats = {
    claimed: 0,
    staleSettles: 0,
    lateWrites: 0,
    dropped: 0,
    released: 0,
  };
  readonly #incarnation = nanoid(12);
  #store: DurableStore | undefined;
  #beatTimer: Timer | undefined;
  #claimTimer: Timer | undefined;
  #pollTimer: Timer | undefined;
  #claiming = false;
  /** Submits claiming their task at once whose write is in flight: slots promised, not yet taken. */
  #reserved = 0;
  #claimQueued = false;
  #stopped = false;
  /** Tasks no longer ours (fenced) or given back at close: their rejection writes nothing. */
  readonly #dropped = new Set<string>();
  readonly #releasing = new Set<string>();
  /** Store writes in flight, awaited by close(). */
  readonly #pending = new Set<Promise<unknown>>();

  constructor(host: DurableHost) {
    this.#host = host;
    this.#waiters = new OutcomeWaiters(host.clock);
  }

  /** Registers as an owner and starts the heartbeat, the claim loop and the result re-reads. */
  async start(): Promise<void> {
    const host = this.#host;
    this.#store = host.transport.durableStore();
    await this.#beat();
    const clock = host.clock;
    this.#beatTimer = clock.setInterval(() => {
      this.#beat().catch((error: unknown) =>
        host.log.warn('durable', `owner heartbeat failed: ${errorMessage(error)}`),
      );
    }, host.options.ownerHeartbeatMs);
    this.#claimTimer = clock.setInterval(() => this.claimSoon(), CLAIM_INTERVAL_MS);
    this.#pollTimer = clock.setInterval(() => this.#pollWaiters(), RESULT_POLL_MS);
  }

  #beat(): Promise<void> {
    const host = this.#host;
    const entry = JSON.stringify({
      id: host.id,
      incarnation: this.#incarnation,
      host: hostname(),
      pid: process.pid,
      startedAt: host.clock.now(),
    });
    const ttl = host.options.ownerHeartbeatMs * 3;
    return this.#store!.beat(host.id, entry, this.#incarnation, ttl);
  }

  // ---- submit -------------------------------------------------------------

  /** Checks the call, stores the task (claimed at once when a worker has room) and resolves with its id. */
  async submit(handler: unknown, payload: unknown, options: unknown): Promise<string> {
    const host = this.#host;
    const counters = host.counters;
    const closed = host.closedReason();
    if (closed !== undefined) throw counters.refuse(new DispatchError(ErrorCode.CLOSED, closed));
    const now = host.clock.now();
    let record: NewRecord;
    try {
      record = this.#newRecord(handler, payload, options, now);
    } catch (error) {
      throw error instanceof DispatchError ? counters.refuse(error) : error;
    }
    const store = this.#store!;
    const claim = record.runAt === undefined && this.#hasRoomFor(record.handler, now);
    // Counted until the task runs: concurrent submits must not claim more than the room there is.
    if (claim) this.#reserved++;
    let added: Awaited<ReturnType<DurableStore['add']>>;
    try {
      const opts: { now: number; claimBy?: string; maxBacklog?: number } = { now };
      if (claim) opts.claimBy = host.id;
      if (host.options.maxBacklog !== undefined) opts.maxBacklog = host.options.maxBacklog;
      // Tracked: close() must not leave before a claim it made here is run or given back.
      added = await this.#track(store.add(record, opts));
    } catch (error) {
      if (claim) this.#reserved--;
      if (error instanceof DispatchError) throw counters.refuse(error);
      throw counters.refuse(
        new DispatchError(
          ErrorCode.REDIS_ERROR,
          `the task could not be stored: ${errorMessage(error)}`,
          {
            cause: error,
          },
        ),
      );
    }
    if (claim) this.#reserved--;
    switch (added) {
      case 'full': {
        const message = `the durable backlog holds maxBacklog (${host.options.maxBacklog}) tasks`;
        throw counters.refuse(new DispatchError(ErrorCode.QUEUE_FULL, message));
      }
      case 'exists':
        // The id is fresh and random: the record under it is this very call's, written by a
        // first send whose reply was lost (ioredis sends it again after a reconnect). The
        // task is stored, so the submit stands.
        await this.#resumeStored(record.id);
        break;
      case 'claimed':
        this.#run(
          {
            ...record,
            state: 'active',
            owner: host.id,
            attempts: 0,
            createdAt: now,
            cancelRequested: false,
          },
          host.clock.now(),
        );
        break;
      case 'added':
        this.claimSoon();
        break;
    }
    return record.id;
  }

  /** A task this submit stored without hearing so: run it if it is claimed by us, else look for backlog work. */
  async #resumeStored(id: string): Promise<void> {
    const host = this.#host;
    let stored: DurableRecord | undefined;
    try {
      stored = await this.#track(this.#store!.get(id));
    } catch (error) {
      throw host.counters.refuse(
        new DispatchError(
          ErrorCode.REDIS_ERROR,
          `task ${id} may have been stored: ${errorMessage(error)}`,
          { cause: error },
        ),
      );
    }
    if (stored?.state === 'active' && stored.owner === host.id && stored.attempts === 0) {
      this.#run(stored, host.clock.now());
    } else {
      this.claimSoon();
    }
  }

  /** Submits, then waits for the outcome: a durable `dispatch()`. */
  async dispatch(handler: unknown, payload: unknown, options: unknown): Promise<unknown> {
    const id = await this.submit(handler, payload, options);
    return this.#await(id, undefined);
  }

  #newRecord(handler: unknown, payload: unknown, options: unknown, now: number): NewRecord {
    const host = this.#host;
    if (typeof handler !== 'string' || handler.length === 0 || handler.length > 128) {
      const message = 'handler must be a name of 1 to 128 characters';
      throw new DispatchError(ErrorCode.UNKNOWN_HANDLER, message);
    }
    const call = readDurableOptions(options, host.options.timeoutMs, now);
    const payloadJson = encodePayload(payload);
    const id = nanoid();
    const bytes = exactTaskBytes(id, host.id, handler, payloadJson);
    const { maxMessageBytes } = host.options;
    if (bytes > maxMessageBytes) {
      const message = `task of ${bytes} bytes exceeds maxMessageBytes (${maxMessageBytes})`;
      throw new DispatchError(ErrorCode.PAYLOAD_TOO_LARGE, message);
    }
    if (host.membership.size > 0) {
      const largest = host.membership.largestFrameFor(handler);
      if (largest === undefined) {
        const message = `no live worker has a handler named ${JSON.stringify(handler)}`;
        throw new DispatchError(ErrorCode.UNKNOWN_HANDLER, message);
      }
      if (bytes > largest) throw tooLargeForWorkers(bytes, handler, largest);
    }
    const record: NewRecord = {
      id,
      handler,
      payload: payloadJson === undefined ? undefined : JSON.parse(payloadJson),
      priority: call.priority,
      timeoutMs: call.timeoutMs,
      retries: call.retries,
      resultTtlMs: call.resultTtlMs,
    };
    if (call.runAt > 0) record.runAt = call.runAt;
    if (call.maxWaitMs !== undefined) record.expiresAt = (call.runAt || now) + call.maxWaitMs;
    if (call.key !== undefined) record.key = call.key;
    return record;
  }

  /** Room for a task of `handler` now: a live worker has a free slot and the local queue is empty. */
  #hasRoomFor(handler: string, now: number): boolean {
    const host = this.#host;
    return (
      host.queue.size === 0 &&
      host.membership.freeSlots(now) > this.#reserved &&
      host.membership.hasRoomFor(handler, now)
    );
  }

  // ---- the claim loop -----------------------------------------------------

  /** Claims as many backlog tasks as workers have room for, soon (one claim at a time). */
  claimSoon(): void {
    if (this.#stopped || this.#store === undefined) return;
    if (this.#claiming) {
      this.#claimQueued = true;
      return;
    }
    const host = this.#host;
    if (host.closedReason() !== undefined) return;
    const now = host.clock.now();
    const free = host.membership.freeSlots(now) - this.#reserved;
    const n = host.queue.size === 0 ? Math.min(CLAIM_BATCH, free) : 0;
    if (n <= 0) return;
    this.#claiming = true;
    const claimed = this.#store.claim(host.id, n, now).then(
      (records) => {
        const at = host.clock.now();
        for (const record of records) this.#run(record, at);
        host.queue.pump();
      },
      (error: unknown) => host.log.warn('durable', `claim failed: ${errorMessage(error)}`),
    );
    this.#track(
      claimed.finally(() => {
        this.#claiming = false;
        if (this.#claimQueued) {
          this.#claimQueued = false;
          this.claimSoon();
        }
      }),
    );
  }

  /** Runs a task this dispatcher now owns, as a normal task. */
  #run(record: DurableRecord, now: number): void {
    const host = this.#host;
    const id = record.id;
    if (this.#stopped || host.closedReason() !== undefined) {
      // Claimed while closing: back to the backlog, for another dispatcher.
      this.#release(id);
      return;
    }
    if (!(host.queue.size === 0 && host.membership.hasRoomFor(record.handler, now))) {
      // Claimed by count, but no worker for its handler has room: its timeout would
      // run while it waits here. Back to the backlog, for when one has.
      this.#release(id);
      return;
    }
    this.stats.claimed++;
    if (record.cancelRequested) {
      this.#write(id, cancelledOutcome('cancelled with cancel(id)'));
      return;
    }
    if (record.expiresAt !== undefined && record.attempts === 0 && now > record.expiresAt) {
      this.#write(id, {
        state: 'failed',
        error: {
          code: ErrorCode.EXPIRED,
          message: 'no dispatcher claimed the task within maxWaitMs',
        },
      });
      return;
    }
    const payload = record.payload === undefined ? undefined : JSON.stringify(record.payload);
    const deadline = now + record.timeoutMs;
    const task: Task = {
      seq: host.ledger.nextSeq(),
      id,
      durable: true,
      handler: record.handler,
      payload,
      bytes: exactTaskBytes(id, host.id, record.handler, payload),
      deadline,
      key: record.key,
      priority: record.priority,
      sentAt: 0,
      resolve: (value) => this.#finished(id, { state: 'succeeded', result: value }),
      reject: (error) => this.#failed(id, error),
      state: State.New,
      attempt: 0,
      spent: 0,
      retriesLeft: record.retries,
      retried: 0,
      lastError: undefined,
      worker: undefined,
      acknowledged: false,
      resent: false,
      ackedBy: undefined,
      lastWorker: undefined,
      signal: undefined,
      wakeAt: 0,
      wheelPrev: undefined,
      wheelNext: undefined,
      wheelSlot: -1,
    };
    host.ledger.add(task);
    host.counters.dispatched++;
    if (!(host.queue.size === 0 && host.delivery.send(task, now))) {
      host.queue.push(task);
      host.wheel.schedule(task, deadline);
    }
  }

  /** An attempt of durable `task` went to `worker`: recorded, fenced by ownership. */
  started(task: Task, worker: WorkerState, now: number): void {
    const host = this.#host;
    const { id, attempt } = task;
    this.#track(
      this.#store!.started(id, host.id, attempt, worker.id, now).then(
        (owned) => {
          if (owned || task.state === State.Settled) return;
          // Another dispatcher owns it now: stop our copy, write nothing.
          this.stats.dropped++;
          this.#dropped.add(id);
          host.settlement.fail(task, ErrorCode.CANCELLED, 'another dispatcher owns the task', true);
          host.queue.pump();
        },
        (error: unknown) =>
          host.log.warn(
            'durable',
            `recording attempt ${attempt} of ${id} failed: ${errorMessage(error)}`,
          ),
      ),
    );
  }

  // ---- outcomes -----------------------------------------------------------

  #finished(id: string, outcome: Outcome): void {
    if (this.#dropped.delete(id)) return;
    this.#write(id, outcome);
    this.claimSoon();
  }

  #failed(id: string, error: unknown): void {
    if (this.#dropped.delete(id)) return;
    if (this.#releasing.delete(id)) {
      this.#release(id);
      return;
    }
    const e = error instanceof DispatchError ? error : undefined;
    const code = e?.code ?? ErrorCode.INVALID_MESSAGE;
    const message = e?.message ?? 'the task failed';
    const outcome: Outcome =
      code === ErrorCode.CANCELLED
        ? cancelledOutcome(message)
        : {
            state: 'failed',
            error: e?.remote ? { code, message, remote: e.remote } : { code, message },
          };
    this.#write(id, outcome);
    this.claimSoon();
  }

  /** The fenced terminal write; then the callers hear the truth. Retried while Redis refuses it. */
  #write(id: string, outcome: Outcome): void {
    const host = this.#host;
    const local: Settled =
      outcome.state === 'succeeded'
        ? { ok: true, value: outcome.result }
        : { ok: false, error: outcome.error };
    this.#track(
      this.#store!.settle(id, host.id, outcome, host.clock.now()).then(
        (result) => {
          switch (result.kind) {
            case 'settled':
            case 'unknown':
              this.#waiters.wake(id, local);
              return;
            case 'already': {
              this.stats.lateWrites++;
              this.#waiters.wake(id, settledOf(result.record) ?? local);
              return;
            }
            case 'stale':
              // Its real owner's outcome reaches the waiters through the settled channel.
              this.stats.staleSettles++;
              return;
          }
        },
        (error: unknown) => {
          host.log.warn('durable', `storing the outcome of ${id} failed: ${errorMessage(error)}`);
          if (this.#stopped) return;
          host.clock.setTimeout(() => this.#write(id, outcome), SETTLE_RETRY_MS);
        },
      ),
    );
  }

  #release(id: string): void {
    const host = this.#host;
    this.#track(
      this.#store!.release(id, host.id, host.clock.now()).then(
        (released) => {
          if (released) this.stats.released++;
        },
        (error: unknown) =>
          host.log.warn(
            'durable',
            `giving ${id} back to the backlog failed: ${errorMessage(error)}`,
          ),
      ),
    );
  }

  // ---- reading, waiting, cancelling ---------------------------------------

  async task(id: unknown): Promise<TaskInfo | undefined> {
    const record = await this.#read(checkTaskId(id));
    return record === undefined ? undefined : taskInfo(record);
  }

  result(id: unknown, options?: unknown): Promise<unknown> {
    let taskId: string;
    let timeoutMs: number;
    try {
      taskId = checkTaskId(id);
      timeoutMs = resultTimeout(options, this.#host.options.timeoutMs);
    } catch (error) {
      return Promise.reject(error);
    }
    const closed = this.#host.closedReason();
    if (closed !== undefined) return Promise.reject(new DispatchError(ErrorCode.CLOSED, closed));
    return this.#await(taskId, timeoutMs);
  }

  #await(id: string, timeoutMs: number | undefined): Promise<unknown> {
    // close() has failed every waiter already: one added now would wait for ever.
    if (this.#stopped) {
      return Promise.reject(
        new DispatchError(
          ErrorCode.CLOSED,
          `dispatcher ${this.#host.id} closed before task ${id} finished; read it with result(id) from another dispatcher`,
        ),
      );
    }
    const waiting = this.#waiters.wait(id, timeoutMs);
    this.#check(id);
    return waiting;
  }

  /** Reads `id`'s record and wakes its waiters if it finished, or is gone. */
  #check(id: string): void {
    this.#track(
      this.#read(id).then(
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
          this.#host.log.warn('durable', `reading task ${id} failed: ${errorMessage(error)}`),
      ),
    );
  }

  #pollWaiters(): void {
    const ledger = this.#host.ledger;
    for (const id of this.#waiters.ids()) {
      // Running here: its own terminal write wakes its waiters, no read needed.
      if (ledger.byId(id)?.durable) continue;
      this.#check(id);
    }
  }

  /**
   * The record; a task that waited past its `maxWaitMs` is failed `EXPIRED`
   * first (expiry is lazy: at a claim or a read).
   */
  async #read(id: string): Promise<DurableRecord | undefined> {
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

  async cancel(id: unknown): Promise<boolean> {
    const taskId = checkTaskId(id);
    const host = this.#host;
    const result = await this.#storeOrClosed().cancel(taskId, host.clock.now());
    switch (result.kind) {
      case 'cancelled':
        return true;
      case 'requested':
        if (result.owner === host.id) this.cancelLocal(taskId);
        else await host.transport.publish(host.names.cancelChannel, taskId);
        return true;
      default:
        return false;
    }
  }

  /** A cancel was requested for `id`: if it runs here, it ends `CANCELLED` (its worker is told). */
  cancelLocal(id: string): void {
    const task = this.#host.ledger.byId(id);
    if (!task?.durable) return;
    this.#host.settlement.fail(task, ErrorCode.CANCELLED, 'cancelled with cancel(id)', true);
    this.#host.queue.pump();
  }

  /** An id on the settled channel: its waiters here read the record. */
  onSettled(data: string): void {
    if (this.#waiters.has(data)) this.#check(data);
  }

  /** An id on the cancel channel. */
  onCancel(data: string): void {
    if (isValidId(data)) this.cancelLocal(data);
  }

  // ---- close ----------------------------------------------------------------

  /** At close, after the drain: `task` goes back to the backlog rather than failing; its local caller gets `CLOSED`. */
  giveBack(task: Task): void {
    this.#releasing.add(task.id);
  }

  /** Stops the loops, waits for the writes in flight (up to `waitMs`), leaves, and ends every waiter `CLOSED`. */
  async close(reason: string, waitMs: number): Promise<void> {
    this.#stopped = true;
    const clock = this.#host.clock;
    clock.clearTimer(this.#claimTimer);
    clock.clearTimer(this.#pollTimer);
    clock.clearTimer(this.#beatTimer);
    if (this.#store === undefined) {
      this.#waiters.failAll(new DispatchError(ErrorCode.CLOSED, reason));
      return;
    }
    let timer: Timer | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = clock.setTimeout(resolve, waitMs);
    });
    while (this.#pending.size > 0) {
      const settled = await Promise.race([
        Promise.allSettled([...this.#pending]).then(() => false),
        timedOut.then(() => true),
      ]);
      if (settled) break;
    }
    // After the writes in flight: a task that finished during the drain answers its caller.
    this.#waiters.failAll(new DispatchError(ErrorCode.CLOSED, reason));
    try {
      await Promise.race([this.#store.leave(this.#host.id), timedOut]);
    } catch (error) {
      this.#host.log.warn('durable', `leaving the owners failed: ${errorMessage(error)}`);
    }
    clock.clearTimer(timer);
  }

  #storeOrClosed(): DurableStore {
    if (this.#store === undefined || this.#stopped) {
      throw new DispatchError(
        ErrorCode.CLOSED,
        this.#host.closedReason() ?? `dispatcher ${this.#host.id} is closed`,
      );
    }
    return this.#store;
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#pending.add(promise);
    promise.then(
      () => this.#pending.delete(promise),
      () => this.#pending.delete(promise),
    );
    return promise;
  }
}

function cancelledOutcome(message: string): Outcome {
  return { state: 'cancelled', error: { code: ErrorCode.CANCELLED, message } };
}

function checkTaskId(id: unknown): string {
  if (!isValidId(id)) {
    throw new DispatchError(
      ErrorCode.INVALID_OPTIONS,
      'a durable task id is 1 to 128 of [A-Za-z0-9_.-], as submit() returned it',
    );
  }
  return id;
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

function resultTimeout(options: unknown, fallback: number): number {
  if (options === undefined) return fallback;
  let timeoutMs: unknown;
  try {
    if (typeof options !== 'object' || options === null) throw new TypeError('not an object');
    timeoutMs = (options as { timeoutMs?: unknown }).timeoutMs;
  } catch {
    throw new DispatchError(ErrorCode.INVALID_OPTIONS, 'result() options must be { timeoutMs? }');
  }
  if (timeoutMs === undefined) return fallback;
  if (
    typeof timeoutMs !== 'number' ||
    !Number.isInteger(timeoutMs) ||
    timeoutMs < 1 ||
    timeoutMs > 2_147_483_647
  ) {
    throw new DispatchError(
      ErrorCode.INVALID_OPTIONS,
      'result() timeoutMs must be an integer from 1 to 2147483647',
    );
  }
  return timeoutMs;
}
