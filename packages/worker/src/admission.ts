/**
 * Takes a new attempt or refuses it, and how many it may hold. A task is
 * refused (nacked) when the worker is shutting down, has no handler of its
 * name, got it past its deadline, or holds as many attempts as it has slots and
 * queue; slots held past their deadline (overdue.ts) shrink that capacity, and
 * attempts queued beyond the smaller capacity go back to run elsewhere.
 */
import { NackReason, type TaskMessage, type TaskTable, usableCapacity } from '@ringcast/protocol';
import type { Attempt } from './attempt.js';
import type { Executor } from './executor.js';
import type { Handler } from './options.js';
import type { Replies } from './replies.js';
import type { WorkerCounters } from './stats.js';

/** What admission needs of its worker. */
export interface AdmissionHost {
  /** Whether new tasks are taken (not while shutting down). */
  accepting(): boolean;
  /** The count of overdue slots changed: the heartbeat carries it. */
  overdueChanged(count: number): void;
}

export class Admission {
  readonly #handlers: ReadonlyMap<string, Handler>;
  readonly #concurrency: number;
  readonly #maxQueue: number;
  readonly #stats: WorkerCounters;
  readonly #live: TaskTable<Attempt, string>;
  readonly #executor: Pick<Executor, 'run' | 'drop' | 'waiting'>;
  readonly #replies: Pick<Replies, 'nack' | 'nackAttempt' | 'accepted'>;
  readonly #host: AdmissionHost;
  /** Attempts it holds, running or queued, before it nacks BUSY; less while slots are overdue. */
  #capacity: number;
  /** Attempts taken so far: the next one's `seq`. */
  #arrivals = 0;

  constructor(
    options: { handlers: ReadonlyMap<string, Handler>; concurrency: number; maxQueue: number },
    stats: WorkerCounters,
    live: TaskTable<Attempt, string>,
    executor: Pick<Executor, 'run' | 'drop' | 'waiting'>,
    replies: Pick<Replies, 'nack' | 'nackAttempt' | 'accepted'>,
    host: AdmissionHost,
  ) {
    this.#handlers = options.handlers;
    this.#concurrency = options.concurrency;
    this.#maxQueue = options.maxQueue;
    this.#capacity = options.concurrency + options.maxQueue;
    this.#stats = stats;
    this.#live = live;
    this.#executor = executor;
    this.#replies = replies;
    this.#host = host;
  }

  /** Takes the task (it runs now or queues) or nacks it. `now` is the clock read for its frame. */
  take(task: TaskMessage, hash: number, now: number): void {
    if (!this.#host.accepting()) {
      this.#replies.nack(task, NackReason.DRAINING, 'the worker is shutting down');
      return;
    }
    const handler = this.#handlers.get(task.handler);
    if (!handler) {
      this.#replies.nack(
        task,
        NackReason.UNKNOWN_HANDLER,
        `no handler named ${JSON.stringify(task.handler)}`,
      );
      return;
    }
    if (task.deadline <= now) {
      this.#replies.nack(task, NackReason.EXPIRED, 'the deadline passed before the task arrived');
      return;
    }
    // Cancelled queued attempts stay in the slot queue until their turn comes, when
    // they give the slot straight back; they may not pile up past a second
    // capacity's worth, so that queue stays bounded too.
    if (
      this.#stats.inflight + this.#stats.queued >= this.#capacity ||
      this.#executor.waiting >= 2 * this.#capacity
    ) {
      this.#replies.nack(task, NackReason.BUSY, 'concurrency and queue are full');
      return;
    }
    const attempt: Attempt = {
      seq: this.#arrivals++,
      task,
      hash,
      handler,
      phase: 'queued',
      acked: false,
      alsoSentBy: undefined,
      controller: undefined,
      abortReason: undefined,
      startedAt: 0,
    };
    this.#executor.run(attempt, now);
    // A handler that returned a plain value has finished already, its result
    // standing in for the ack. Nothing can arrive while it runs, so only an attempt
    // still queued or running needs to be found again (re-sent, cancelled, drained).
    if (attempt.phase === 'done') return;
    this.#live.add(attempt, hash);
    this.#replies.accepted(attempt);
  }

  /** Slots that never free cannot take work, and a queue behind them never drains. */
  overdueChanged = (count: number): void => {
    this.#stats.overdue = count;
    this.#capacity = count + usableCapacity(this.#concurrency, this.#maxQueue, count);
    this.#host.overdueChanged(count);
    this.#shed();
  };

  /**
   * Every queued attempt goes back, `reason`, oldest first as they would have
   * run: their dispatchers re-route them in that order.
   */
  refuseQueued(reason: NackReason, message: string): void {
    const queued = this.#live.values().sort((a, b) => a.seq - b.seq);
    for (const attempt of queued) {
      if (attempt.phase !== 'queued') continue;
      this.#executor.drop(attempt);
      this.#replies.nackAttempt(attempt, reason, message);
    }
  }

  /**
   * Slots turned overdue: attempts queued beyond the smaller capacity wait for
   * slots that may never free. The newest go back to their dispatchers (BUSY),
   * which send them to other workers rather than let them time out here.
   */
  #shed(): void {
    let excess = this.#stats.inflight + this.#stats.queued - this.#capacity;
    if (excess <= 0 || this.#stats.queued === 0) return;
    const queued = this.#live
      .values()
      .filter((attempt) => attempt.phase === 'queued')
      .sort((a, b) => b.seq - a.seq);
    for (const attempt of queued) {
      if (excess-- <= 0) break;
      this.#executor.drop(attempt);
      this.#replies.nackAttempt(
        attempt,
        NackReason.BUSY,
        "this worker's slots are held past their deadline",
      );
    }
  }
}
