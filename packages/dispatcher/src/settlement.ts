/**
 * Settling a task: the one way out of the ledger. Success, failure, timeout
 * and cancel all end here, exactly once per task (the state machine's `settle`
 * refuses a second time), with the task's timers, queue slot, worker slot and
 * abort listener released and the outcome counted.
 */
import { type Clock, ErrorCode, type HandlerStatsBook, type RemoteError } from '@ringcast/protocol';
import { AbortListeners } from './abort-listeners.js';
import { thrownMessage } from './admission.js';
import type { Ledger } from './ledger.js';
import type { LocalQueue } from './local-queue.js';
import type { DispatcherLog } from './log.js';
import type { Counters } from './stats.js';
import { TaskState as State, settle } from './task.js';
import type { TaskTraces } from './task-traces.js';
import type { TimerWheel } from './timer-wheel.js';
import { release, type Task, type WorkerState } from './worker-state.js';

/** What settling needs of the rest of the dispatcher. */
export interface SettlementHost {
  readonly ledger: Pick<Ledger, 'delete' | 'size'>;
  readonly queue: Pick<LocalQueue, 'dropped' | 'pump'>;
  readonly wheel: Pick<TimerWheel<Task>, 'cancel'>;
  readonly counters: Counters;
  readonly clock: Pick<Clock, 'now'>;
  /** Per-handler outcomes and end-to-end latency. */
  readonly handlers: HandlerStatsBook;
  /** The metrics' latency histogram, when metrics are on. */
  readonly observer: { observe(handler: string, seconds: number): void } | undefined;
  readonly log: Pick<DispatcherLog, 'warn'>;
  /** Each traced task's producer span ends with its settlement. */
  readonly traces: Pick<TaskTraces, 'settled'>;
  /** Tells the worker to stop the attempt `token` of task `id`, for this dispatcher or for `everyone`. */
  cancelRemote(worker: WorkerState, id: string, token: string, everyone: boolean): void;
}

/** Whom the worker running a failed task's attempt stops it for. */
enum Stop {
  None,
  Ours,
  Everyone,
}

export class Settlement {
  readonly #host: SettlementHost;
  readonly #listeners = new AbortListeners((task) => this.cancel(task));
  #idleWaiters: Array<() => void> = [];

  constructor(host: SettlementHost) {
    this.#host = host;
  }

  /** Runs `waiter` once the ledger is empty (now, if it is). */
  whenIdle(waiter: () => void): void {
    if (this.#host.ledger.size === 0) waiter();
    else this.#idleWaiters.push(waiter);
  }

  succeed(task: Task, value: unknown): void {
    if (!this.#settle(task)) return;
    this.#host.counters.ok++;
    this.#record(task, undefined);
    this.#host.traces.settled(task);
    task.resolve(value);
  }

  /**
   * Rejects `task` with `code`. `cancelRemote` tells its worker to stop the
   * attempt for this dispatcher: a run that also answers another dispatcher
   * (which adopted the durable task and sent the same attempt) goes on for it.
   */
  fail(
    task: Task,
    code: ErrorCode,
    message: string,
    cancelRemote: boolean,
    remote?: RemoteError,
  ): void {
    this.#fail(task, code, message, cancelRemote ? Stop.Ours : Stop.None, remote);
  }

  /** A durable task cancelled with `cancel(id)`: its run stops for every dispatcher it answers. */
  cancelRequested(task: Task, message: string): void {
    this.#fail(task, ErrorCode.CANCELLED, message, Stop.Everyone);
  }

  #fail(task: Task, code: ErrorCode, message: string, stop: Stop, remote?: RemoteError): void {
    const worker = task.worker;
    const attempt = task.attempt;
    if (!this.#settle(task)) return;
    if (stop !== Stop.None && worker && !worker.gone) {
      this.#host.cancelRemote(worker, task.id, `${task.id}.${attempt}`, stop === Stop.Everyone);
    }
    this.#record(task, code);
    this.#host.traces.settled(task, code, message);
    task.reject(this.#host.counters.failure(code, message, remote));
  }

  #record(task: Task, code: ErrorCode | undefined): void {
    const host = this.#host;
    const ms = performance.now() - task.createdAt;
    host.handlers.of(task.handler).record(ms, code, task.attempt > 1, host.clock.now());
    host.observer?.observe(task.handler, ms / 1000);
  }

  /**
   * Rejects `task` with `TIMEOUT`. A handler error its retries were still
   * answering when time ran out goes with it, as `remote` and in the message:
   * otherwise the caller would learn only that it was slow.
   */
  timeout(task: Task, where: string, cancelRemote: boolean, error = task.lastError): void {
    const last = error ? `; its last handler error was ${error.name}: ${error.message}` : '';
    this.fail(
      task,
      ErrorCode.TIMEOUT,
      `task did not settle within its timeout${where}${last}`,
      cancelRemote,
      error,
    );
  }

  /** The caller's signal aborted. */
  cancel(task: Task): void {
    // Only a signal that is not really one calls its listener while it is being added.
    if (task.state === State.New) return;
    this.fail(task, ErrorCode.CANCELLED, 'the caller aborted the task', true);
    this.#host.queue.pump();
  }

  /** Listens for `task` on its signal. Throws what the signal's `addEventListener` throws. */
  listen(task: Task): void {
    if (task.signal) this.#listeners.add(task.signal, task);
  }

  /**
   * Stops listening for the task's signal. Settling runs inside Redis's message
   * handler, so a signal that throws here is logged, never let through.
   */
  unlisten(task: Task): void {
    const { signal } = task;
    task.signal = undefined;
    if (!signal) return;
    try {
      this.#listeners.remove(signal, task);
    } catch (error) {
      this.#host.log.warn(
        'signal',
        `a task's signal threw from removeEventListener: ${thrownMessage(error)}`,
      );
    }
  }

  #settle(task: Task): boolean {
    const from = settle(task);
    if (from === undefined) return false;
    const host = this.#host;
    if (from === State.Queued) host.queue.dropped();
    else if (from === State.Waiting && task.attempt === 0) host.counters.delayed--;
    release(task);
    host.wheel.cancel(task);
    host.ledger.delete(task);
    if (task.signal) this.unlisten(task);
    if (host.ledger.size === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
    return true;
  }
}
