/**
 * Runs admitted attempts' handlers, at most `concurrency` at a time, and ends
 * every attempt with exactly one final reply. It owns the slots (p-limit), the
 * handler's `ctx`, aborts (cancel, deadline, shutdown), the deadline sweep and
 * the wait for running handlers on close.
 *
 * A handler started on a free slot runs synchronously; if it returns a plain
 * value it finishes before anything else can run, so it never enters the
 * limiter and costs no promise. One that returns a promise holds a p-limit slot
 * until it settles. Attempts that find every slot taken queue in p-limit; one
 * dropped meanwhile (cancelled, drained, shed) gives its slot straight back when
 * its turn comes.
 *
 * Cost, measured when p-limit replaced a hand-written limiter: nothing for
 * synchronous handlers; about 1.5 µs of CPU per asynchronous one (its promises
 * and microtask hops; 1.4-1.7 µs against 0.1-0.2 µs in isolation, 200 jobs in
 * flight on 100 slots), roughly +10% of the worker's CPU per task in
 * `scripts/bench/alone.ts --side worker` with an async echo handler.
 */
import { type Clock, ErrorCode, NackReason, type TaskTable, type Timer } from '@ringcast/protocol';
import pLimit, { type LimitFunction } from 'p-limit';
import {
  type Attempt,
  AttemptContext,
  abort,
  abortedBy,
  isAborted,
  isThenable,
} from './attempt.js';
import type { AttemptSpans } from './attempt-spans.js';
import { WorkerError } from './errors.js';
import { type ExecutionStats, failureCode } from './execution-stats.js';
import { OVERDUE_AFTER_MS } from './overdue.js';
import type { Replies } from './replies.js';
import { serializeError } from './serialize.js';
import type { WorkerCounters } from './stats.js';

const SWEEP_INTERVAL_MS = 50;

/** Where the sweep reports handlers that hold their slot past their deadline (overdue.ts). */
export interface OverdueReport {
  update(handlers: string[] | undefined, now: number): void;
}

export class Executor {
  readonly #workerId: string;
  readonly #concurrency: number;
  readonly #clock: Clock;
  readonly #stats: WorkerCounters;
  readonly #live: TaskTable<Attempt, string>;
  readonly #replies: Pick<Replies, 'encoder' | 'final'>;
  readonly #overdue: OverdueReport;
  readonly #execution: ExecutionStats;
  readonly #spans: AttemptSpans;
  readonly #limit: LimitFunction;
  #sweep: Timer | undefined;
  #idleWaiters: Array<() => void> = [];
  /** The clock's reading at the last sweep, for the finished-reply record. */
  #now: number;

  constructor(
    workerId: string,
    concurrency: number,
    clock: Clock,
    stats: WorkerCounters,
    live: TaskTable<Attempt, string>,
    replies: Pick<Replies, 'encoder' | 'final'>,
    overdue: OverdueReport,
    execution: ExecutionStats,
    spans: AttemptSpans,
  ) {
    this.#workerId = workerId;
    this.#concurrency = concurrency;
    this.#clock = clock;
    this.#stats = stats;
    this.#live = live;
    this.#replies = replies;
    this.#overdue = overdue;
    this.#execution = execution;
    this.#spans = spans;
    this.#limit = pLimit(concurrency);
    this.#now = clock.now();
  }

  /** Attempts waiting in the limiter, dropped ones included (they leave when their turn comes). */
  get waiting(): number {
    return this.#limit.pendingCount;
  }

  /**
   * Starts the attempt now if a slot is free and nobody waits for one, else
   * queues it until a slot frees. `now` is the caller's clock reading.
   */
  run(attempt: Attempt, now: number): void {
    this.#now = now;
    this.#stats.queued++;
    const limit = this.#limit;
    if (limit.activeCount < this.#concurrency && limit.pendingCount === 0) {
      const value = this.#execute(attempt);
      // A promise holds its slot in the limiter until it settles.
      if (value !== undefined) void limit(this.#settle, attempt, value);
    } else {
      void limit(this.#queued, attempt);
    }
  }

  /** Cancelled by its dispatcher: a queued attempt never runs, a running one is aborted. */
  cancel(attempt: Attempt): void {
    if (attempt.phase === 'queued') this.drop(attempt);
    else abort(attempt, new WorkerError(ErrorCode.CANCELLED, 'the task was cancelled'));
  }

  /** Forgets a queued attempt; when its turn comes, its slot goes straight back. */
  drop(attempt: Attempt): void {
    attempt.phase = 'done';
    this.#live.delete(attempt, attempt.hash);
    this.#stats.queued--;
  }

  /** Aborts every running handler. */
  abortRunning(reason: WorkerError): void {
    for (const attempt of this.#live.values()) {
      if (attempt.phase === 'running') abort(attempt, reason);
    }
  }

  /** Resolves true once no handler runs, or false after `ms`. */
  async whenIdle(ms: number): Promise<boolean> {
    if (this.#stats.inflight === 0) return true;
    let timer: Timer | undefined;
    await new Promise<void>((resolve) => {
      this.#idleWaiters.push(resolve);
      timer = this.#clock.setTimeout(resolve, ms);
    });
    this.#clock.clearTimer(timer);
    return this.#stats.inflight === 0;
  }

  /** One sweep for every running handler's deadline, for as long as the worker runs. */
  startSweep(): void {
    this.#sweep ??= this.#clock.setInterval(this.#sweepDeadlines, SWEEP_INTERVAL_MS);
  }

  stopSweep(): void {
    this.#clock.clearTimer(this.#sweep);
    this.#sweep = undefined;
  }

  /** A queued attempt's turn: the limiter holds its slot until what this returns settles. */
  #queued = (attempt: Attempt): Promise<void> | undefined => {
    const value = this.#execute(attempt);
    return value === undefined ? undefined : this.#settle(attempt, value);
  };

  /**
   * Runs the attempt's handler. Returns the thenable it returned, still to be
   * settled; undefined when the attempt has ended already (it returned a plain
   * value, threw, expired while queued, or was dropped while it waited).
   */
  #execute(attempt: Attempt): unknown {
    if (attempt.phase !== 'queued') return undefined;
    const { task } = attempt;
    this.#stats.queued--;
    if (task.deadline <= this.#clock.now()) {
      this.#final(
        attempt,
        this.#replies.encoder.nack(
          task.id,
          task.token,
          NackReason.EXPIRED,
          'the deadline passed while queued',
        ),
      );
      this.#stats.nacked.EXPIRED++;
      return undefined;
    }
    attempt.phase = 'running';
    this.#stats.inflight++;
    this.#execution.started(attempt);
    let value: unknown;
    try {
      value = this.#spans.run(attempt, new AttemptContext(attempt, this.#workerId));
    } catch (error) {
      this.#failed(attempt, error);
      return undefined;
    }
    if (isThenable(value)) return value;
    // A plain value: the attempt ends here, without a promise.
    this.#succeeded(attempt, value);
    return undefined;
  }

  /** Never rejects: the limiter would pass the rejection on to a promise nobody awaits. */
  #settle = (attempt: Attempt, value: unknown): Promise<void> =>
    // Promise.resolve adopts any thenable safely: one outcome, a throwing `then` rejects.
    Promise.resolve(value).then(
      (result) => this.#succeeded(attempt, result),
      (error: unknown) => this.#failed(attempt, error),
    );

  #succeeded(attempt: Attempt, value: unknown): void {
    const { task } = attempt;
    const result = this.#replies.encoder.ok(task.id, task.token, value, task.replyMaxBytes);
    if (result.ok) this.#stats.succeeded++;
    else this.#stats.failed++;
    const code = result.ok ? undefined : ErrorCode.HANDLER_ERROR;
    this.#execution.ended(attempt, code);
    this.#spans.ended(
      attempt,
      code,
      result.ok
        ? undefined
        : 'the handler result could not be sent (not JSON-serialisable, or too large)',
    );
    this.#ended(attempt, result.encoded);
  }

  #failed(attempt: Attempt, error: unknown): void {
    // A handler that gave up because the worker aborted it (deadline, shutdown)
    // throws whatever its API throws (often an AbortError); report why it was
    // aborted, which the dispatcher acts on, rather than that symptom.
    const cause = abortedBy(attempt) ?? error;
    const { task } = attempt;
    this.#stats.failed++;
    const code = failureCode(cause);
    const remote = serializeError(cause);
    this.#execution.ended(attempt, code);
    this.#spans.ended(attempt, code, remote.message);
    this.#ended(
      attempt,
      this.#replies.encoder.error(task.id, task.token, remote, task.replyMaxBytes),
    );
  }

  #ended(attempt: Attempt, encoded: string): void {
    this.#stats.inflight--;
    this.#final(attempt, encoded);
    if (this.#stats.inflight === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  #final(attempt: Attempt, encoded: string): void {
    attempt.phase = 'done';
    // A handler that returned at once was never put in the table.
    if (this.#live.size > 0) this.#live.delete(attempt, attempt.hash);
    this.#replies.final(attempt, encoded, this.#now);
  }

  #sweepDeadlines = (): void => {
    const now = this.#clock.now();
    this.#now = now;
    if (this.#stats.inflight === 0) {
      if (this.#stats.overdue > 0) this.#overdue.update(undefined, now);
      return;
    }
    let overdue: string[] | undefined;
    for (const attempt of this.#live.values()) {
      if (attempt.phase !== 'running' || attempt.task.deadline > now) continue;
      if (attempt.task.deadline + OVERDUE_AFTER_MS <= now) {
        overdue ??= [];
        overdue.push(attempt.task.handler);
      }
      if (isAborted(attempt)) continue;
      abort(attempt, new WorkerError(ErrorCode.TIMEOUT, 'the task deadline passed'));
    }
    if (overdue !== undefined || this.#stats.overdue > 0) this.#overdue.update(overdue, now);
  };
}
