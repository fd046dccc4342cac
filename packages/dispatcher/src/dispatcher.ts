/**
 * The dispatcher's facade and lifecycle: `createDispatcher`, start and close,
 * `dispatch` (admission, then the first send or the local queue), and the
 * `workers()` / `stats()` views. The work happens in the collaborators it wires
 * together, each with a narrow view of the others: delivery, replies,
 * timeouts, membership, recovery and settlement, around the task state machine
 * (task.ts), the ledger and the local queue. Redis and time come only through
 * the transport (transport.ts).
 */

import {
  type AuthOptions,
  type Clock,
  ErrorCode,
  errorMessage,
  FrameGuard,
  HandlerStatsBook,
  isClusterTarget,
  type Names,
  names,
  parseAuthOptions,
  type Timer,
} from '@ringcast/protocol';
import { nanoid } from 'nanoid';
import type { DispatchOptions } from './admission.js';
import { Delivery } from './delivery.js';
import {
  type DurableDispatchOptions,
  type SubmitOptions,
  wantsDurable,
} from './durable/durable-options.js';
import { DurableTasks } from './durable/durable-tasks.js';
import type { TaskInfo } from './durable/task-info.js';
import { DispatchError } from './errors.js';
import { GuardedTransport } from './guarded-transport.js';
import { Intake } from './intake.js';
import { Ledger } from './ledger.js';
import { LocalQueue } from './local-queue.js';
import { DispatcherLog } from './log.js';
import { Membership, type WorkerView } from './membership.js';
import { dispatcherMetrics, type Metrics } from './metrics.js';
import { type DispatcherOptions, parseOptions, type ResolvedOptions } from './options.js';
import { Recovery } from './recovery.js';
import { RedisTransport } from './redis-transport.js';
import { Replies } from './replies.js';
import { Settlement } from './settlement.js';
import { Counters, type DispatcherStats } from './stats.js';
import { StatsPublisher } from './stats-publisher.js';
import { createStrategy } from './strategies/factory.js';
import type { Strategy } from './strategy.js';
import { isDelayed } from './task.js';
import { TaskTraces } from './task-traces.js';
import { Timeouts } from './timeouts.js';
import { TimerWheel } from './timer-wheel.js';
import type { DispatcherTransport } from './transport.js';
import { WorkerReports } from './worker-reports.js';
import type { Task, WorkerState } from './worker-state.js';

/** Payload and result types of each handler, for typed `dispatch` calls. */
export type TaskMap = Record<string, { payload: unknown; result: unknown }>;

export type { DispatchOptions } from './admission.js';
export type { DurableDispatchOptions, SubmitOptions } from './durable/durable-options.js';
export type { TaskInfo, TaskStateName } from './durable/task-info.js';
export type { WorkerView } from './membership.js';
export type { Metrics } from './metrics.js';
export type { DispatcherStats } from './stats.js';

export interface Dispatcher<M extends TaskMap = TaskMap> {
  readonly id: string;
  /** Connects, subscribes and loads the worker registry. */
  start(): Promise<void>;
  /**
   * Sends `payload` to a worker's `handler` and settles with its result. The
   * promise settles exactly once; rejections are {@link DispatchError}s with a
   * stable `code`.
   */
  dispatch<K extends keyof M & string>(
    handler: K,
    payload: M[K]['payload'],
    options?: DispatchOptions | DurableDispatchOptions,
  ): Promise<M[K]['result']>;
  /**
   * Stores a durable task in Redis and resolves with its id once Redis
   * acknowledged the write; from then on it runs and its outcome is stored
   * even if this process dies. Bad arguments reject as `dispatch()` does;
   * `QUEUE_FULL` past `maxBacklog`.
   */
  submit<K extends keyof M & string>(
    handler: K,
    payload: M[K]['payload'],
    options?: SubmitOptions,
  ): Promise<string>;
  /** A durable task's record as it stands, or undefined if there is none (never submitted, or expired). */
  task(id: string): Promise<TaskInfo | undefined>;
  /**
   * Waits for a durable task's outcome, whichever dispatcher runs it: its value,
   * or a `DispatchError` with the stored code. `TIMEOUT` if it did not finish
   * within `timeoutMs` (default: the dispatcher's `timeoutMs`); `INVALID_OPTIONS`
   * for an id with no record.
   */
  result(id: string, options?: { timeoutMs?: number }): Promise<unknown>;
  /**
   * Cancels a durable task that has not finished: at once if it waits or is
   * delayed; if it runs, its owner aborts it (the worker's signal fires). False
   * if it finished already or there is no such task.
   */
  cancel(id: string): Promise<boolean>;
  workers(): WorkerView[];
  stats(): DispatcherStats;
  /**
   * This dispatcher's Prometheus metrics: its own prom-client registry, its
   * content type, and a request handler to mount in your HTTP server. Throws
   * `INVALID_OPTIONS` unless it was made with `metrics: true`.
   */
  metrics(): Metrics;
  /**
   * Replaces the frame authentication keyring of a running dispatcher, for a
   * key rotation without downtime: give every process the new key beside the
   * old (they accept both), then make it `current` everywhere (they sign with
   * it), then drop the old one. Takes effect for the next frame. Throws
   * `INVALID_OPTIONS` for an invalid keyring, and when the dispatcher was made
   * without `auth` (every process of a deployment must agree on whether frames
   * are signed: that takes a restart).
   */
  setAuth(auth: AuthOptions): void;
  /** Stops accepting tasks, waits for in-flight ones up to `drainTimeoutMs`, rejects the rest `CLOSED`. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Creates a dispatcher. Options are validated here; nothing connects until `start()`. */
export function createDispatcher<M extends TaskMap = TaskMap>(
  options?: DispatcherOptions,
): Dispatcher<M> {
  const resolved = parseOptions(options);
  return new RingDispatcher<M>(resolved, new RedisTransport(resolved.redis));
}

/**
 * @internal A dispatcher on the given transport (an in-memory one in unit tests
 * and the simulator). Not part of the documented API.
 */
/** Settings of the core that are not dispatcher options: for tests and the simulator only. */
export interface CoreTuning {
  /**
   * Makes durable task ids (default: 21 random characters). The simulator's are
   * drawn from its seed, so that a run replays the same: the backlog orders
   * tasks of one priority and millisecond by id.
   */
  taskId?: () => string;
}

export function createDispatcherCore<M extends TaskMap = TaskMap>(
  transport: DispatcherTransport,
  options?: DispatcherOptions,
  tuning: CoreTuning = {},
): Dispatcher<M> {
  return new RingDispatcher<M>(parseOptions(options), transport, tuning);
}

/** The wheel's resolution: deadlines and ack windows fire within this of their time. */
const TICK_MS = 10;
/** Longest close() waits for the last publishes to be answered. */
const OUTBOX_DRAIN_MS = 1_000;

class RingDispatcher<M extends TaskMap> implements Dispatcher<M> {
  readonly id: string;
  readonly #options: ResolvedOptions;
  readonly #names: Names;
  readonly #replyChannel: string;
  readonly #transport: DispatcherTransport;
  readonly #clock: Clock;
  /** Whether `start()` opened the transport: only then is there anything to read or close. */
  #opened = false;
  #state: 'new' | 'starting' | 'running' | 'closing' | 'closed' = 'new';
  #closing: Promise<void> | undefined;
  #reconcileTimer: Timer | undefined;
  #subscribedOnce = false;

  readonly #counters = new Counters();
  readonly #log: DispatcherLog;
  readonly #ledger = new Ledger();
  readonly #traces = new TaskTraces();
  readonly #strategy: Strategy<WorkerState>;
  readonly #wheel: TimerWheel<Task>;
  readonly #queue: LocalQueue;
  readonly #membership: Membership;
  readonly #settlement: Settlement;
  readonly #delivery: Delivery;
  readonly #replies: Replies;
  readonly #timeouts: Timeouts;
  readonly #recovery: Recovery;
  readonly #intake: Intake;
  readonly #durable: DurableTasks;
  readonly #handlers = new HandlerStatsBook();
  readonly #reports: WorkerReports;
  readonly #publisher: StatsPublisher;
  readonly #metrics: ReturnType<typeof dispatcherMetrics> | undefined;
  readonly #guard: FrameGuard;

  constructor(options: ResolvedOptions, inner: DispatcherTransport, tuning: CoreTuning = {}) {
    this.#options = options;
    this.id = options.id;
    const clock = inner.clock;
    this.#clock = clock;
    const ns = names(options.namespace, { cluster: isClusterTarget(options.redis) });
    this.#names = ns;
    this.#replyChannel = ns.replyChannel(this.id);
    const counters = this.#counters;
    const log = new DispatcherLog(options.logger, this.id, clock);
    this.#log = log;
    const guard = new FrameGuard({
      keyring: options.auth,
      clock,
      maxBytes: options.maxMessageBytes,
      log: (kind, line, fields) => log.warn(kind, line, fields),
    });
    this.#guard = guard;
    // Every frame in and out passes the guard: the collaborators get only this transport.
    const transport = new GuardedTransport(inner, guard);
    this.#transport = transport;
    const ledger = this.#ledger;
    const traces = this.#traces;
    this.#strategy = createStrategy<WorkerState>(options.strategy, {
      hashLoadEpsilon: options.hashLoadEpsilon,
    });
    const strategy = this.#strategy;
    if (options.metrics) {
      this.#metrics = dispatcherMetrics({
        handlers: this.#handlers,
        redelivered: () => counters.redelivered,
        framesDropped: () => guard.stats().dropped,
        inflight: () => this.#ledger.size - this.#queue.size - counters.delayed,
        queued: () => this.#queue.size,
        workers: () => this.#membership.size,
      });
    }
    this.#reports = new WorkerReports({
      clock,
      transport,
      workerIds: () => this.#membership.view(clock.now()).map((w) => w.id),
      warn: (line) => log.warn('worker-stats', line),
    });
    this.#publisher = new StatsPublisher({
      clock,
      transport,
      handlers: this.#handlers,
      ttlMs: options.statsTtlMs,
      warn: (line) => log.warn('stats', line),
    });
    // Collaborators are made one after another, and some need each other: a host
    // names what it needs, and reaches a later one through `this` when called.
    const wheel = new TimerWheel<Task>(clock, TICK_MS, (task, now) =>
      this.#timeouts.wake(task, now),
    );
    this.#wheel = wheel;
    const queue = new LocalQueue({
      send: (task) => this.#delivery.send(task),
      failIfUnrunnable: (task) => this.#delivery.failIfUnrunnable(task),
    });
    this.#queue = queue;
    const delivery = {
      redeliver: (task: Task, ran: boolean, why: string) =>
        this.#delivery.redeliver(task, ran, why),
      requeue: (task: Task) => this.#delivery.requeue(task),
      due: (task: Task, now: number) => this.#delivery.due(task, now),
      resend: (task: Task, ackBy: number) => this.#delivery.resend(task, ackBy),
    };
    this.#membership = new Membership({
      id: this.id,
      names: ns,
      options,
      clock,
      transport,
      strategy,
      ledger,
      delivery,
      queue,
      wheel,
      counters,
      log,
      running: () => this.#state === 'running',
    });
    const membership = this.#membership;
    this.#settlement = new Settlement({
      ledger,
      queue,
      wheel,
      counters,
      clock,
      handlers: this.#handlers,
      observer: this.#metrics,
      log,
      traces,
      cancelRemote: (worker, id, token) => this.#delivery.cancelRemote(worker, id, token),
    });
    const settlement = this.#settlement;
    this.#delivery = new Delivery({
      id: this.id,
      options,
      clock,
      transport,
      strategy,
      wheel,
      queue,
      counters,
      log,
      settlement,
      traces,
      workerOn: (channel) => membership.onChannel(channel),
      largestFrameFor: (handler) => membership.largestFrameFor(handler),
      workerCount: () => membership.size,
      durableStarted: (task, worker, now) => this.#durable.started(task, worker, now),
    });
    this.#replies = new Replies({
      names: ns,
      options,
      clock,
      counters,
      log,
      ledger,
      membership,
      wheel,
      queue,
      delivery,
      settlement,
      strategy,
      recover: (attempts) => this.#recovery.recover(attempts),
    });
    this.#timeouts = new Timeouts({
      options,
      clock,
      transport,
      wheel,
      queue,
      membership,
      delivery,
      settlement,
      log,
    });
    this.#recovery = new Recovery({
      names: ns,
      replyChannel: this.#replyChannel,
      options,
      clock,
      transport,
      counters,
      log,
      ledger,
      membership,
      delivery,
      replies: this.#replies,
    });
    const closedReason = (): string | undefined => {
      if (this.#state === 'running') return undefined;
      const why = this.#state === 'new' || this.#state === 'starting' ? 'not started' : 'closed';
      return `dispatcher ${this.id} is ${why}`;
    };
    this.#durable = new DurableTasks({
      id: this.id,
      names: ns,
      options,
      clock,
      counters,
      log,
      ledger,
      membership,
      queue,
      wheel,
      delivery: this.#delivery,
      settlement,
      traces,
      transport,
      replayParked: (frames) => this.#recovery.replayParked(frames),
      newTaskId: tuning.taskId ?? (() => nanoid()),
      closedReason,
      closing: () => this.#state === 'closing' || this.#state === 'closed',
    });
    this.#intake = new Intake({
      id: this.id,
      options,
      clock,
      counters,
      ledger,
      membership,
      queue,
      wheel,
      delivery: this.#delivery,
      settlement,
      traces,
      closedReason,
    });
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') {
      const why =
        this.#state === 'closing' || this.#state === 'closed' ? 'is closed' : 'was already started';
      throw new DispatchError(ErrorCode.CLOSED, `dispatcher ${this.id} ${why}`);
    }
    this.#state = 'starting';
    const transport = this.#transport;
    const { settledChannel, cancelChannel } = this.#names;
    this.#opened = true;
    try {
      await transport.open(
        { id: this.id, names: this.#names },
        {
          message: (channel, data) => {
            if (channel === settledChannel) this.#durable.onSettled(data);
            else if (channel === cancelChannel) this.#durable.onCancel(data);
            else this.#replies.onMessage(channel, data);
          },
          subscriberReady: () => {
            if (this.#subscribedOnce && this.#state === 'running') {
              void this.#recovery.resubscribed();
            }
          },
          // Heartbeats could not be refreshed while Redis was away: judge none until they could have been.
          commandRestored: () => this.#membership.holdLivenessJudgement(),
          error: (error, role) => {
            // While starting, errors go into start()'s rejection rather than the log.
            if (this.#state !== 'starting') {
              this.#log.warn(
                'connection',
                `redis ${role} connection error: ${errorMessage(error)}`,
                { role, code: ErrorCode.REDIS_ERROR },
              );
            }
          },
        },
      );
      await transport.subscribe([
        this.#replyChannel,
        this.#names.controlChannel,
        settledChannel,
        cancelChannel,
      ]);
      this.#subscribedOnce = true;
      await this.#membership.reconcile();
      // Subscribed, replies reach us rather than the parked list: what it holds now is all
      // there is. The durable side takes it with the tasks a former process under our id left.
      await this.#durable.start();
    } catch (error) {
      const closedMeanwhile = this.#state !== 'starting';
      this.#state = 'closed';
      await transport.close();
      if (closedMeanwhile) throw this.#closedWhileStarting();
      const { message, cause } = transport.describeFailure(error);
      throw new DispatchError(
        ErrorCode.REDIS_ERROR,
        `dispatcher ${this.id} could not start: ${message}`,
        { cause },
      );
    }
    // close() ran while we were starting; it owns the teardown.
    if (this.#state !== 'starting') throw this.#closedWhileStarting();
    this.#state = 'running';
    this.#reports.start();
    this.#publisher.start();
    this.#reconcileTimer = this.#clock.setInterval(
      () => void this.#membership.tick(),
      this.#options.reconcileIntervalMs,
    );
  }

  #closedWhileStarting(): DispatchError {
    return new DispatchError(ErrorCode.CLOSED, `dispatcher ${this.id} was closed while starting`);
  }

  dispatch<K extends keyof M & string>(
    handler: K,
    payload: M[K]['payload'],
    options?: DispatchOptions,
  ): Promise<M[K]['result']> {
    if (options !== undefined && wantsDurable(options)) {
      return this.#durable.dispatch(handler, payload, options);
    }
    const intake = this.#intake;
    intake.take(handler, payload, options);
    return new Promise(intake.admit);
  }

  submit<K extends keyof M & string>(
    handler: K,
    payload: M[K]['payload'],
    options?: SubmitOptions,
  ): Promise<string> {
    return this.#durable.submit(handler, payload, options);
  }

  task(id: string): Promise<TaskInfo | undefined> {
    return this.#durable.task(id);
  }

  result(id: string, options?: { timeoutMs?: number }): Promise<unknown> {
    return this.#durable.result(id, options);
  }

  cancel(id: string): Promise<boolean> {
    return this.#durable.cancel(id);
  }

  workers(): WorkerView[] {
    return this.#membership.view(this.#clock.now());
  }

  stats(): DispatcherStats {
    const queued = this.#queue.size;
    return {
      ...this.#counters.snapshot(queued, this.#ledger.size, this.#membership.size),
      durable: { ...this.#durable.stats },
      handlers: this.#handlers.summary(this.#clock.now()),
      workerStats: this.#reports.current(),
      auth: this.#guard.stats(),
    };
  }

  setAuth(auth: AuthOptions): void {
    if (!this.#guard.enabled) {
      throw new DispatchError(
        ErrorCode.INVALID_OPTIONS,
        `dispatcher ${this.id} was made without auth: frame authentication cannot be turned on while it runs`,
      );
    }
    const keyring = parseAuthOptions(auth, (message) => {
      throw new DispatchError(ErrorCode.INVALID_OPTIONS, `setAuth: ${message}`);
    });
    this.#guard.setKeyring(keyring);
    const ids = [...keyring.keys.keys()].join(', ');
    this.#log.info(`frame keys replaced: signing with ${keyring.current.id} (keys ${ids})`, {
      key: keyring.current.id,
    });
  }

  metrics(): Metrics {
    if (this.#metrics === undefined) {
      throw new DispatchError(
        ErrorCode.INVALID_OPTIONS,
        `dispatcher ${this.id} keeps no metrics: create it with { metrics: true }`,
      );
    }
    return this.#metrics;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    const wasRunning = this.#state === 'running';
    this.#state = 'closing';
    const clock = this.#clock;
    // Tasks not due yet are not drained: nothing of them was sent, so they end now.
    for (const task of this.#ledger.unsettled()) {
      if (isDelayed(task)) {
        this.#settlement.fail(
          task,
          ErrorCode.CLOSED,
          `dispatcher ${this.id} closed before the task was due`,
          false,
        );
      }
    }
    if (wasRunning && this.#ledger.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = clock.setTimeout(resolve, this.#options.drainTimeoutMs);
        this.#settlement.whenIdle(() => {
          clock.clearTimer(timer);
          resolve();
        });
      });
    }
    for (const task of this.#ledger.unsettled()) {
      // A durable task goes back to the backlog and goes on elsewhere; its local caller gets CLOSED.
      if (task.durable) this.#durable.giveBack(task);
      this.#settlement.fail(
        task,
        ErrorCode.CLOSED,
        `dispatcher ${this.id} closed before the task settled`,
        true,
      );
    }
    clock.clearTimer(this.#reconcileTimer);
    this.#membership.stop();
    this.#reports.stop();
    this.#wheel.clear();
    if (this.#opened) {
      let timer: Timer | undefined;
      await Promise.race([
        this.#delivery.drained(),
        new Promise((resolve) => {
          timer = clock.setTimeout(() => resolve(undefined), OUTBOX_DRAIN_MS);
        }),
      ]);
      clock.clearTimer(timer);
      await this.#publisher.stop(OUTBOX_DRAIN_MS);
      await this.#durable.close(`dispatcher ${this.id} closed`, OUTBOX_DRAIN_MS);
      await this.#transport.close();
    }
    this.#state = 'closed';
  }
}
