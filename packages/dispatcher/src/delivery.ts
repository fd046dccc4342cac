/**
 * Delivery: sending a task's attempts to workers, and what happens when one
 * goes nowhere. An attempt is published through the Outbox (one frame per
 * channel per turn); the Outbox's sink hears each frame's fate: nobody
 * subscribed (suspect the worker, send elsewhere at once), or the publish
 * failed (retry shortly, the attempt taken back). Redelivery starts a new
 * attempt within the task's attempt bound, or fails the task `WORKER_LOST`.
 */
import {
  type CancelMessage,
  type Clock,
  ErrorCode,
  encodeCompactResend,
  encodeCompactTask,
  encodeMessage,
  errorMessage,
  type FrameSender,
  Outbox,
  type TraceContext,
} from '@ringcast/protocol';
import type { LocalQueue } from './local-queue.js';
import type { DispatcherLog } from './log.js';
import type { ResolvedOptions } from './options.js';
import type { Settlement } from './settlement.js';
import type { Counters } from './stats.js';
import type { Strategy } from './strategy.js';
import { endAttempt, publishFailed, resend, TaskState as State, startAttempt } from './task.js';
import { exactTaskBytes, tooLargeForWorkers, traceBytes } from './task-size.js';
import type { TaskTraces } from './task-traces.js';
import type { TimerWheel } from './timer-wheel.js';
import type { DispatcherTransport } from './transport.js';
import { assign, release, routable, type Task, type WorkerState } from './worker-state.js';

const PUBLISH_RETRY_MS = 200;

/** What delivery needs of the rest of the dispatcher. */
export interface DeliveryHost {
  readonly id: string;
  readonly options: Pick<ResolvedOptions, 'maxAttempts' | 'ackTimeoutMs' | 'maxMessageBytes'>;
  readonly clock: Clock;
  readonly transport: Pick<DispatcherTransport, 'publish'>;
  readonly strategy: Strategy<WorkerState>;
  readonly wheel: Pick<TimerWheel<Task>, 'schedule'>;
  readonly queue: Pick<LocalQueue, 'size' | 'push' | 'pushFront' | 'pump'>;
  readonly counters: Counters;
  readonly log: Pick<DispatcherLog, 'warn'>;
  readonly settlement: Pick<Settlement, 'fail'>;
  /** The trace context each attempt of a traced task carries. */
  readonly traces: Pick<TaskTraces, 'of' | 'attempted'>;
  /** The live worker on `channel`, if any. */
  workerOn(channel: string): WorkerState | undefined;
  /** The largest frame any live worker with `handler` accepts; undefined if none has it. */
  largestFrameFor(handler: string): number | undefined;
  /** Live workers known now. */
  workerCount(): number;
  /** A durable task's attempt went to `worker`: it is recorded in the store. */
  durableStarted(task: Task, worker: WorkerState, now: number): void;
}

export class Delivery {
  readonly #host: DeliveryHost;
  readonly #outbox: Outbox<Task | undefined>;
  /** What heads our frames: workers keep their replies within what we accept. */
  readonly #sender: FrameSender;
  /** The clock reading of the send in progress, for the worker filters it passes to the strategy. */
  #now = 0;

  constructor(host: DeliveryHost) {
    this.#host = host;
    const { transport, options, clock } = host;
    this.#sender = { replyTo: host.id, maxBytes: options.maxMessageBytes };
    this.#outbox = new Outbox<Task | undefined>(
      {
        publish: (channel, frame) => transport.publish(channel, frame),
        published: (channel, receivers, _frame, tasks) => {
          // MAYBE_HEARD (transport.ts): the ack timeout decides, and a new attempt then counts as spent.
          if (receivers === 0) this.#nobodyListening(channel, tasks);
        },
        failed: (channel, error, _frame, tasks) => this.#publishFailed(channel, error, tasks),
      },
      options.maxMessageBytes,
      // Workers keep their replies within what we accept: a larger frame would be dropped unread.
      this.#sender,
      (flush) => clock.setImmediate(flush),
    );
  }

  /** Whether `w` can take an attempt of `task` now. Pure, and no closure: it runs for every send. */
  readonly #canTake = (w: WorkerState, task: Task): boolean =>
    w.inflight < w.capacity &&
    routable(w, this.#now) &&
    w.handlers.has(task.handler) &&
    task.bytes <= w.maxMessageBytes;

  /** Like {@link #canTake}, and not the worker the last attempt went to (by id: a restart under the same id is no better a bet). */
  readonly #canTakeElsewhere = (w: WorkerState, task: Task): boolean =>
    w.id !== task.lastWorker!.id && this.#canTake(w, task);

  /** Sends a new attempt of `task` to a worker; false when no worker can take it now. */
  send(task: Task, now = this.#host.clock.now()): boolean {
    const host = this.#host;
    this.#now = now;
    const key = task.key;
    let worker = task.lastWorker
      ? host.strategy.pick(this.#canTakeElsewhere, task, key)
      : undefined;
    worker ??= host.strategy.pick(this.#canTake, task, key);
    // Refused only past the attempt bound, which every caller checked before.
    if (!worker || !startAttempt(task, host.options.maxAttempts)) return false;
    if (task.attempt > 1) host.counters.redelivered++;
    assign(task, worker);
    task.sentAt = now;
    task.ackedBy = undefined;
    task.lastWorker = worker;
    host.wheel.schedule(task, Math.min(task.deadline, now + host.options.ackTimeoutMs));
    const trace = traceFor(worker, task, host.traces);
    const part = encodeCompactTask(
      task.id,
      task.attempt,
      task.handler,
      task.deadline,
      task.payload,
      trace,
    );
    this.#outbox.push(worker.channel, part, task, worker.maxMessageBytes);
    host.traces.attempted(task, worker);
    if (task.durable) host.durableStarted(task, worker, now);
    return true;
  }

  /** Sends the task's current attempt again, as itself, to the same worker (recovery); false if none is open. */
  resend(task: Task, ackBy: number): boolean {
    const worker = task.worker;
    if (!worker || !resend(task)) return false;
    // Its round trip would include the outage: not a latency sample (replies.ts).
    task.sentAt = 0;
    this.#host.wheel.schedule(task, Math.min(task.deadline, ackBy));
    // Named for the process that may have run it: one restarted under the same id refuses it.
    // Its size bound has room for the name (task-size.ts): it fits as the first send did.
    const part = encodeCompactResend(
      task.id,
      task.attempt,
      task.handler,
      task.deadline,
      task.ackedBy ?? worker.incarnation,
      task.payload,
      traceFor(worker, task, this.#host.traces),
    );
    this.#outbox.push(worker.channel, part, undefined, worker.maxMessageBytes);
    return true;
  }

  /**
   * Tells `worker` to stop the attempt `token` of task `id`: for this dispatcher
   * (a run it also answers for another, which adopted the durable task, goes
   * on), or for `everyone` (the task was cancelled with `cancel(id)`).
   */
  cancelRemote(worker: WorkerState, id: string, token: string, everyone: boolean): void {
    const cancel: CancelMessage = { kind: 'cancel', id, token };
    if (!everyone) cancel.from = this.#host.id;
    this.#outbox.push(worker.channel, encodeMessage(cancel), undefined, worker.maxMessageBytes);
  }

  /**
   * The attempt went nowhere or may be lost: try another. `ran` says whether it
   * may have run, which spends one of the task's attempts.
   */
  redeliver(task: Task, ran: boolean, why: string): void {
    if (task.state !== State.Sent && task.state !== State.Acked) return;
    const { maxAttempts } = this.#host.options;
    release(task);
    if (!endAttempt(task, ran, maxAttempts)) {
      this.#host.settlement.fail(
        task,
        ErrorCode.WORKER_LOST,
        `${why}; all ${maxAttempts} attempts were lost`,
        false,
      );
      return;
    }
    this.requeue(task);
  }

  /** A delayed task is due: it is sent now, or queued behind the tasks already waiting. */
  due(task: Task, now: number): void {
    const host = this.#host;
    host.counters.delayed--;
    if (host.queue.size === 0 && this.send(task, now)) return;
    host.queue.push(task);
    host.wheel.schedule(task, task.deadline);
  }

  /** Sends a task that is between attempts now, or queues it ahead of newer tasks. */
  requeue(task: Task): void {
    const queue = this.#host.queue;
    if (queue.size === 0 && this.send(task)) return;
    // Ahead of newer tasks: it has waited longest.
    queue.pushFront(task);
    if (task.wheelSlot < 0 || task.wakeAt !== task.deadline) {
      this.#host.wheel.schedule(task, task.deadline);
    }
  }

  /**
   * Fails a queued task that no live worker can run, rather than let it wait at
   * the head of the queue for its timeout: one never sent whose handler no live
   * worker has (as `dispatch()` refuses it once workers are known: it was queued
   * before any joined), and one no live worker with its handler accepts a frame
   * of its size from. Its size may be a loose bound: it is counted exactly
   * before it is judged. A task that was sent before waits: its worker may come back.
   */
  failIfUnrunnable(task: Task): boolean {
    const largest = this.#host.largestFrameFor(task.handler);
    if (largest === undefined) {
      if (task.attempt > 0 || this.#host.workerCount() === 0) return false;
      const message = `no live worker has a handler named ${JSON.stringify(task.handler)}`;
      this.#host.settlement.fail(task, ErrorCode.UNKNOWN_HANDLER, message, false);
      return true;
    }
    if (task.bytes <= largest) return false;
    task.bytes =
      exactTaskBytes(task.id, this.#host.id, task.handler, task.payload) +
      traceBytes(this.#host.traces.of(task));
    if (task.bytes <= largest) return false;
    const error = tooLargeForWorkers(task.bytes, task.handler, largest);
    this.#host.settlement.fail(task, error.code, error.message, false);
    return true;
  }

  /** Resolves once every publish so far has been answered. */
  drained(): Promise<void> {
    return this.#outbox.drained();
  }

  #nobodyListening(channel: string, tasks: Array<Task | undefined>): void {
    const worker = this.#host.workerOn(channel);
    if (worker) worker.suspected = true;
    for (const task of tasks) {
      if (
        task?.state === State.Sent &&
        !task.acknowledged &&
        !task.resent &&
        task.worker === worker
      ) {
        this.redeliver(task, false, `nobody was subscribed to ${channel}`);
      }
    }
    this.#host.queue.pump();
  }

  #publishFailed(channel: string, error: unknown, tasks: Array<Task | undefined>): void {
    const host = this.#host;
    host.log.warn('publish', `publish to ${channel} failed: ${errorMessage(error)}`, {
      channel,
      code: ErrorCode.REDIS_ERROR,
    });
    const worker = host.workerOn(channel);
    const retryAt = host.clock.now() + PUBLISH_RETRY_MS;
    for (const task of tasks) {
      if (
        task?.state === State.Sent &&
        !task.acknowledged &&
        !task.resent &&
        task.worker === worker
      ) {
        release(task);
        publishFailed(task);
        host.wheel.schedule(task, Math.min(task.deadline, retryAt));
      }
    }
    host.queue.pump();
  }
}

/** The trace context `task`'s attempt carries to `worker`: none for a worker that could not read it. */
function traceFor(
  worker: WorkerState,
  task: Task,
  traces: Pick<TaskTraces, 'of'>,
): TraceContext | undefined {
  const trace = traces.of(task);
  return trace !== undefined && worker.info.traceContext === true ? trace : undefined;
}
