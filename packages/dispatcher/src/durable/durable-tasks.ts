/**
 * Durable tasks in the dispatcher: `submit`, a durable `dispatch`, `task`,
 * `result` and `cancel`, and the parts that keep them going from `start()` to
 * `close()`: this dispatcher's presence as an owner ({@link OwnerPresence}),
 * the claim loop that draws work from the shared backlog ({@link ClaimLoop}),
 * the fenced writes of each task's attempts and outcome ({@link OutcomeWriter})
 * and the adoption of a dead dispatcher's tasks ({@link Adoption}). Callers — a
 * durable `dispatch()` here, `result()` anywhere — wait in {@link OutcomeWaiters},
 * woken by this dispatcher's own writes or by the reads of {@link RecordReads}.
 * A submit's record is made and checked by `newRecord` (`new-record.ts`).
 */
import { ErrorCode, errorMessage, isValidId, type Timer } from '@ringcast/protocol';
import { DispatchError } from '../errors.js';
import type { Producer } from '../task-traces.js';
import type { Task, WorkerState } from '../worker-state.js';
import { Adoption } from './adoption.js';
import { CallerCalls } from './caller-calls.js';
import { CLAIM_INTERVAL_MS, ClaimLoop } from './claim-loop.js';
import {
  type DurableContext,
  type DurableHost,
  type DurableStats,
  emptyDurableStats,
} from './durable-context.js';
import { newRecord } from './new-record.js';
import { OutcomeWaiters, type Registration } from './outcome-waiters.js';
import { CANCELLED_BY_REQUEST, OutcomeWriter } from './outcome-writer.js';
import { OwnerPresence } from './owner-presence.js';
import type { DurableRecord, NewRecord } from './record.js';
import { RecordReads } from './record-reads.js';
import type { AddOptions, AddResult, DurableStore, KnownRecord } from './store.js';
import { StoreWrites } from './store-writes.js';
import { checkTaskId, resultTimeout } from './task-call-checks.js';
import { type TaskInfo, taskInfo } from './task-info.js';

export { CLAIM_INTERVAL_MS } from './claim-loop.js';
export type { DurableHost, DurableStats } from './durable-context.js';

/** How often `result()` waiters re-read their records: the safety net for a missed settled message. */
export const RESULT_POLL_MS = 1_000;
/** How often callers' store calls are checked against their time bound: what a call may overrun it by. */
const CALL_EXPIRY_SWEEP_MS = 100;

/** The parts that run between start() and close(). */
interface Running {
  readonly context: DurableContext;
  readonly presence: OwnerPresence;
  readonly claims: ClaimLoop;
  readonly writer: OutcomeWriter;
  readonly adoption: Adoption;
  readonly timers: Timer[];
  /** The callers' store calls' expiry: it runs on through close()'s drain, until they end CLOSED. */
  callExpiry: Timer | undefined;
}

export class DurableTasks {
  readonly #host: DurableHost;
  readonly #waiters: OutcomeWaiters;
  readonly #writes: StoreWrites;
  readonly stats: DurableStats = emptyDurableStats();
  /** Copies of the tasks a durable `dispatch()` here stored and still waits for (DurableContext.known). */
  readonly #known = new Map<string, KnownRecord>();
  /** Reads of records for `task()` and for the waiters (at a settled announcement, at a poll). */
  readonly #reads: RecordReads;
  /** The store calls callers wait on: each settles, REDIS_ERROR or CLOSED at worst. */
  readonly #calls: CallerCalls;
  #running: Running | undefined;
  #stopped = false;

  constructor(host: DurableHost) {
    this.#host = host;
    this.#waiters = new OutcomeWaiters(host.clock);
    this.#writes = new StoreWrites(host.clock);
    this.#calls = new CallerCalls(host.clock, host.options.timeoutMs);
    this.#reads = new RecordReads(
      host,
      this.#waiters,
      this.#writes,
      () => this.#storeOrClosed(),
      () => (this.#stopped ? undefined : this.#running?.context.store),
    );
  }

  /**
   * Registers as an owner, takes back what a former process under this id left
   * active, then starts the heartbeat (each followed by a look for dead owners),
   * the claim loop and the result re-reads.
   */
  async start(): Promise<void> {
    const host = this.#host;
    const context: DurableContext = {
      host,
      store: host.transport.durableStore(),
      waiters: this.#waiters,
      writes: this.#writes,
      stats: this.stats,
      known: this.#known,
      stopped: () => this.#stopped,
    };
    const writer = new OutcomeWriter(
      context,
      () => this.claimSoon(),
      (id) => this.#reads.check(id),
    );
    const claims = new ClaimLoop(context, writer);
    const adoption = new Adoption(context, claims, writer);
    const presence = new OwnerPresence(context, () => adoption.afterBeat());
    const running: Running = {
      context,
      presence,
      claims,
      writer,
      adoption,
      timers: [],
      callExpiry: undefined,
    };
    // Known before the first await: a close() meanwhile stops what started so far.
    this.#running = running;
    const clock = host.clock;
    // Calls may come in from here on (submit before start() ended): bounded from here on too.
    running.callExpiry = clock.setInterval(
      () => this.#calls.expire(clock.now()),
      CALL_EXPIRY_SWEEP_MS,
    );
    await presence.start();
    if (this.#stopped) return;
    await adoption.reclaim();
    // close() ran meanwhile: it cleared the timers there were; set none now.
    if (this.#stopped) return;
    running.timers.push(
      clock.setInterval(() => claims.claimSoon(), CLAIM_INTERVAL_MS),
      clock.setInterval(() => this.#reads.poll(), RESULT_POLL_MS),
    );
    // With no other dispatcher alive, tasks of the dead wait for us: look now, not a beat later.
    void this.#writes.track(adoption.scan());
  }

  /** Claims backlog work soon, if workers have room. */
  claimSoon(): void {
    this.#running?.claims.claimSoon();
  }

  /** An attempt of durable `task` went to `worker`: recorded, fenced by ownership. */
  started(task: Task, worker: WorkerState, now: number): void {
    this.#running?.writer.started(task, worker, now);
  }

  /** A worker stopped `task`'s attempt on another dispatcher's cancel: the store says what follows. */
  stoppedElsewhere(task: Task, why: string): void {
    const writer = this.#running?.writer;
    if (writer) writer.stoppedElsewhere(task, why);
    else this.#host.delivery.redeliver(task, true, why);
  }

  // ---- submit -------------------------------------------------------------

  /** Checks the call, stores the task (claimed at once when a worker has room) and resolves with its id. */
  submit(handler: unknown, payload: unknown, options: unknown): Promise<string> {
    return this.#submit(handler, payload, options, undefined);
  }

  /**
   * Submits, then waits for the outcome: a durable `dispatch()`. Its producer
   * span, if tracing, lasts until the outcome, as a non-durable dispatch's does.
   */
  async dispatch(handler: unknown, payload: unknown, options: unknown): Promise<unknown> {
    let waiter: Registration | undefined;
    let producer: Producer | undefined;
    let id: string | undefined;
    try {
      await this.#submit(handler, payload, options, (record, now, started) => {
        id = record.id;
        waiter = this.#waiters.register(id, undefined);
        // Kept while we wait: a claim of it from the backlog builds its record from this.
        this.#known.set(id, { record, createdAt: now });
        producer = started;
        // close() may fail it while the write is in flight, before it is returned: not unheard.
        waiter.outcome.catch(() => {});
      });
    } catch (error) {
      waiter?.withdraw();
      if (id !== undefined) this.#known.delete(id);
      throw error;
    }
    try {
      const value = await waiter!.outcome;
      if (producer !== undefined) this.#host.traces.endProducer(producer);
      return value;
    } catch (error) {
      if (producer !== undefined) this.#host.traces.endProducer(producer, error);
      throw error;
    } finally {
      this.#known.delete(id!);
    }
  }

  /**
   * `beforeStore` gets the new task's record and creation time before it is sent: a waiter
   * registered then hears every outcome (this dispatcher's own write, the
   * settled channel), so none needs reading back. The task's producer span, if
   * tracing, goes into its record, for whichever dispatcher runs it; it ends
   * once the task is stored, unless `beforeStore` takes it (a durable
   * `dispatch()`, whose span ends with the outcome). A failed store ends it.
   */
  async #submit(
    handler: unknown,
    payload: unknown,
    options: unknown,
    beforeStore:
      | ((record: NewRecord, now: number, producer: Producer | undefined) => void)
      | undefined,
  ): Promise<string> {
    const host = this.#host;
    const counters = host.counters;
    const closed = host.closedReason();
    if (closed !== undefined || this.#running === undefined) {
      throw counters.refuse(new DispatchError(ErrorCode.CLOSED, closed ?? 'not started'));
    }
    const { context, claims } = this.#running;
    const now = host.clock.now();
    let record: NewRecord;
    try {
      record = newRecord(host, handler, payload, options, now);
    } catch (error) {
      throw error instanceof DispatchError ? counters.refuse(error) : error;
    }
    const producer = host.traces.startProducer(record.handler, record.id);
    if (producer?.context !== undefined) record.trace = producer.context;
    try {
      const claim = record.runAt === undefined && claims.hasRoomFor(record.handler, now);
      // Counted until the task runs: concurrent submits must not claim more than the room there is.
      if (claim) claims.reserve();
      let added: AddResult;
      try {
        const opts: AddOptions = { now };
        if (claim) opts.claimBy = host.id;
        if (host.options.maxBacklog !== undefined) opts.maxBacklog = host.options.maxBacklog;
        beforeStore?.(record, now, producer);
        // Tracked: close() must not leave before a claim it made here is run or given back.
        const write = this.#writes.track(context.store.add(record, opts));
        const unanswered = `task ${record.id} may or may not be stored (task('${record.id}') tells; if it was, it runs)`;
        added = await this.#calls.run('the task could not be stored', write, unanswered);
      } catch (error) {
        throw error instanceof DispatchError ? counters.refuse(error) : error;
      } finally {
        if (claim) claims.unreserve();
      }
      switch (added) {
        case 'full': {
          const message = `the durable backlog holds maxBacklog (${host.options.maxBacklog}) tasks`;
          throw counters.refuse(new DispatchError(ErrorCode.QUEUE_FULL, message));
        }
        case 'exists':
          // A fresh 21-character random id is not taken by chance: this is our own write,
          // applied twice (the client re-sent it after a reconnect). What the first did
          // is in the record: it goes on from there.
          await this.#resumeStored(record.id);
          break;
        case 'claimed': {
          this.stats.claimed++;
          const claimed: DurableRecord = {
            ...record,
            state: 'active',
            owner: host.id,
            attempts: 0,
            createdAt: now,
            cancelRequested: false,
          };
          claims.run(claimed, host.clock.now());
          break;
        }
        case 'added':
          claims.claimSoon();
          break;
      }
    } catch (error) {
      if (producer !== undefined) host.traces.endProducer(producer, error);
      throw error;
    }
    if (producer !== undefined && beforeStore === undefined) host.traces.endProducer(producer);
    return record.id;
  }

  /**
   * Our own stored task whose write answered `exists`: run it if the first write
   * claimed it for us, let the claim loop find it if it waits. If it cannot be
   * read now, the claim loop or the orphan sweep finds it.
   */
  async #resumeStored(id: string): Promise<void> {
    const { context, claims } = this.#running!;
    let stored: DurableRecord | undefined;
    try {
      stored = await this.#writes.track(context.store.get(id));
    } catch (error) {
      this.#host.log.warn('durable', `reading back task ${id} failed: ${errorMessage(error)}`, {
        task: id,
      });
    }
    if (stored?.state === 'active' && stored.owner === this.#host.id) {
      this.stats.claimed++;
      claims.run(stored, this.#host.clock.now());
    } else {
      claims.claimSoon();
    }
  }

  // ---- reading, waiting, cancelling ---------------------------------------

  async task(id: unknown): Promise<TaskInfo | undefined> {
    const taskId = checkTaskId(id);
    const record = await this.#calls.run('reading the task failed', this.#reads.read(taskId));
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
    // Running here: its own terminal write wakes its waiters, no read needed (as in the poll).
    if (!this.#host.ledger.byId(id)?.durable) this.#reads.check(id);
    return waiting;
  }

  async cancel(id: unknown): Promise<boolean> {
    const taskId = checkTaskId(id);
    return this.#calls.run('cancelling the task failed', this.#cancel(taskId));
  }

  async #cancel(taskId: string): Promise<boolean> {
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
    this.#host.settlement.cancelRequested(task, CANCELLED_BY_REQUEST);
    this.#host.queue.pump();
  }

  /** Ids on the settled channel (a store call's, space-separated): their waiters here read the record. */
  onSettled(data: string): void {
    const writer = this.#running?.writer;
    for (const id of data.split(' ')) {
      if (this.#waiters.has(id) && !writer?.isWriting(id)) this.#reads.check(id);
    }
  }

  /** An id on the cancel channel. */
  onCancel(data: string): void {
    if (isValidId(data)) this.cancelLocal(data);
  }

  // ---- close ----------------------------------------------------------------

  /** At close, after the drain: `task` goes back to the backlog rather than failing; its local caller gets `CLOSED`. */
  giveBack(task: Task): void {
    this.#running?.writer.giveBack(task.id);
  }

  /**
   * Stops the loops, waits for the store writes in flight (up to `waitMs`),
   * leaves the owners, and ends every waiter `CLOSED`. A task whose outcome could
   * not be stored stays ours in Redis, and is adopted once we are gone.
   */
  async close(reason: string, waitMs: number): Promise<void> {
    this.#stopped = true;
    const running = this.#running;
    if (running === undefined) {
      this.#waiters.failAll(new DispatchError(ErrorCode.CLOSED, reason));
      this.#calls.closeAll(reason);
      return;
    }
    const clock = this.#host.clock;
    running.presence.stop();
    for (const timer of running.timers) clock.clearTimer(timer);
    const started = clock.now();
    await this.#writes.drain(waitMs);
    // After the writes in flight: a task that finished during the drain answers its caller.
    this.#waiters.failAll(new DispatchError(ErrorCode.CLOSED, reason));
    this.#calls.closeAll(reason);
    clock.clearTimer(running.callExpiry);
    const left = Math.max(1, waitMs - (clock.now() - started));
    let timer: Timer | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = clock.setTimeout(resolve, left);
    });
    try {
      await Promise.race([running.context.store.leave(this.#host.id), timedOut]);
    } catch (error) {
      this.#host.log.warn('durable', `leaving the owners failed: ${errorMessage(error)}`);
    }
    clock.clearTimer(timer);
  }

  /**
   * The dispatcher's start() failed, its connections closed: what started here
   * stops, and the callers who came in meanwhile get `CLOSED`.
   */
  startFailed(reason: string): void {
    this.#stopped = true;
    const running = this.#running;
    if (running !== undefined) {
      running.presence.stop();
      for (const timer of running.timers) this.#host.clock.clearTimer(timer);
      this.#host.clock.clearTimer(running.callExpiry);
    }
    const error = new DispatchError(ErrorCode.CLOSED, reason);
    this.#waiters.failAll(error);
    this.#calls.closeAll(reason);
  }

  #storeOrClosed(): DurableStore {
    if (this.#running === undefined || this.#stopped) {
      throw new DispatchError(
        ErrorCode.CLOSED,
        this.#host.closedReason() ?? `dispatcher ${this.#host.id} is closed`,
      );
    }
    return this.#running.context.store;
  }
}
