/**
 * The dispatcher's facade and lifecycle: `createDispatcher`, start and close,
 * `dispatch` (admission, then the first send or the local queue), and the
 * `workers()` / `stats()` views. The work happens in the collaborators that
 * dispatcher-parts.ts makes and wires together, each with a narrow view of the
 * others: delivery, replies, timeouts, membership, recovery and settlement,
 * around the task state machine (task.ts), the ledger and the local queue.
 * Redis and time come only through the transport (transport.ts).
 */

import {
  type AuthOptions,
  ErrorCode,
  errorMessage,
  parseAuthOptions,
  type Timer,
} from '@ringcast/protocol';
import type { DispatchOptions } from './admission.js';
import {
  type CoreTuning,
  type DispatcherParts,
  type DispatcherState,
  wireDispatcher,
} from './dispatcher-parts.js';
import {
  type DurableDispatchOptions,
  type SubmitOptions,
  wantsDurable,
} from './durable/durable-options.js';
import { OWNER_TTL_BEATS } from './durable/owner-presence.js';
import type { TaskInfo } from './durable/task-info.js';
import { DispatchError } from './errors.js';
import { ensureIdIsFree } from './identity-check.js';
import type { Metrics } from './metrics.js';
import { type DispatcherOptions, parseOptions, type ResolvedOptions } from './options.js';
import { RedisTransport } from './redis-transport.js';
import type { DispatcherStats } from './stats.js';
import { isDelayed } from './task.js';
import type { DispatcherTransport } from './transport.js';
import type { WorkerView } from './worker-view.js';

/** Payload and result types of each handler, for typed `dispatch` calls. */
export type TaskMap = Record<string, { payload: unknown; result: unknown }>;

export type { DispatchOptions } from './admission.js';
export type { CoreTuning } from './dispatcher-parts.js';
export type { DurableDispatchOptions, SubmitOptions } from './durable/durable-options.js';
export type { TaskInfo, TaskStateName } from './durable/task-info.js';
export type { Metrics } from './metrics.js';
export type { DispatcherStats } from './stats.js';
export type { WorkerView } from './worker-view.js';

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
   * for an id with no record, and for options that are not an object, carry a
   * key other than `timeoutMs`, or a `timeoutMs` that `dispatch()` would refuse.
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
export function createDispatcherCore<M extends TaskMap = TaskMap>(
  transport: DispatcherTransport,
  options?: DispatcherOptions,
  tuning: CoreTuning = {},
): Dispatcher<M> {
  return new RingDispatcher<M>(parseOptions(options), transport, tuning);
}

/** Longest close() waits for the last publishes to be answered. */
const OUTBOX_DRAIN_MS = 1_000;

class RingDispatcher<M extends TaskMap> implements Dispatcher<M> {
  readonly id: string;
  readonly #options: ResolvedOptions;
  /** The collaborators (dispatcher-parts.ts). */
  readonly #p: DispatcherParts;
  /** Whether `start()` opened the transport: only then is there anything to read or close. */
  #opened = false;
  #state: DispatcherState = 'new';
  #closing: Promise<void> | undefined;
  #reconcileTimer: Timer | undefined;
  #subscribedOnce = false;

  constructor(options: ResolvedOptions, inner: DispatcherTransport, tuning: CoreTuning = {}) {
    this.#options = options;
    this.id = options.id;
    this.#p = wireDispatcher(options, inner, tuning, { state: () => this.#state });
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') {
      const why =
        this.#state === 'closing' || this.#state === 'closed' ? 'is closed' : 'was already started';
      throw new DispatchError(ErrorCode.CLOSED, `dispatcher ${this.id} ${why}`);
    }
    this.#state = 'starting';
    const transport = this.#p.transport;
    const { settledChannel, cancelChannel } = this.#p.names;
    const recovery = this.#p.recovery;
    this.#opened = true;
    try {
      await transport.open(
        { id: this.id, names: this.#p.names },
        {
          message: (channel, data) => {
            if (channel === settledChannel) this.#p.durable.onSettled(data);
            else if (channel === cancelChannel) this.#p.durable.onCancel(data);
            else this.#p.replies.onMessage(channel, data);
          },
          subscriberReady: () => {
            // The first ready belongs to start(); later ones follow a reconnect, which
            // leaves the subscriber without subscriptions (redis-transport.ts).
            if (!this.#subscribedOnce) return;
            if (this.#state === 'running') void recovery.resubscribed();
            // Starting, or closing (its drain still waits for replies): subscribe, nothing more.
            else if (this.#state === 'starting' || this.#state === 'closing') {
              void recovery.resubscribe();
            }
          },
          // Heartbeats could not be refreshed while Redis was away: judge none until they could have been.
          commandRestored: () => this.#p.membership.holdLivenessJudgement(),
          error: (error, role) => {
            // While starting, errors go into start()'s rejection rather than the log.
            if (this.#state !== 'starting') {
              this.#p.log.warn(
                'connection',
                `redis ${role} connection error: ${errorMessage(error)}`,
                { role, code: ErrorCode.REDIS_ERROR },
              );
            }
          },
        },
      );
      // Before subscribing: a live process under our id would answer for us.
      await ensureIdIsFree({
        id: this.id,
        replyChannel: this.#p.replyChannel,
        transport,
        store: transport.durableStore(),
        clock: this.#p.clock,
        heartbeatTtlMs: this.#options.ownerHeartbeatMs * OWNER_TTL_BEATS,
        heartbeatIntervalMs: this.#options.ownerHeartbeatMs,
        stopped: () => this.#state !== 'starting',
      });
      await transport.subscribe(this.#p.channels);
      this.#subscribedOnce = true;
      await this.#p.membership.reconcile();
      // Subscribed, replies reach us rather than the parked list: what it holds now is all
      // there is. The durable side takes it with the tasks a former process under our id left.
      await this.#p.durable.start();
    } catch (error) {
      const closedMeanwhile = this.#state !== 'starting';
      this.#state = 'closed';
      this.#p.durable.startFailed(`dispatcher ${this.id} did not start`);
      await transport.close();
      if (closedMeanwhile) throw this.#closedWhileStarting();
      if (error instanceof DispatchError && error.code === ErrorCode.DUPLICATE_DISPATCHER)
        throw error;
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
    this.#p.reports.start();
    this.#p.publisher.start();
    this.#reconcileTimer = this.#p.clock.setInterval(
      () => void this.#p.membership.tick(),
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
      return this.#p.durable.dispatch(handler, payload, options);
    }
    const intake = this.#p.intake;
    intake.take(handler, payload, options);
    return new Promise(intake.admit);
  }

  submit<K extends keyof M & string>(
    handler: K,
    payload: M[K]['payload'],
    options?: SubmitOptions,
  ): Promise<string> {
    return this.#p.durable.submit(handler, payload, options);
  }

  task(id: string): Promise<TaskInfo | undefined> {
    return this.#p.durable.task(id);
  }

  result(id: string, options?: { timeoutMs?: number }): Promise<unknown> {
    return this.#p.durable.result(id, options);
  }

  cancel(id: string): Promise<boolean> {
    return this.#p.durable.cancel(id);
  }

  workers(): WorkerView[] {
    return this.#p.membership.view(this.#p.clock.now());
  }

  stats(): DispatcherStats {
    const queued = this.#p.queue.size;
    return {
      ...this.#p.counters.snapshot(queued, this.#p.ledger.size, this.#p.membership.size),
      durable: { ...this.#p.durable.stats },
      handlers: this.#p.handlers.summary(this.#p.clock.now()),
      workerStats: this.#p.reports.current(),
      auth: this.#p.guard.stats(),
    };
  }

  setAuth(auth: AuthOptions): void {
    if (!this.#p.guard.enabled) {
      throw new DispatchError(
        ErrorCode.INVALID_OPTIONS,
        `dispatcher ${this.id} was made without auth: frame authentication cannot be turned on while it runs`,
      );
    }
    const keyring = parseAuthOptions(auth, (message) => {
      throw new DispatchError(ErrorCode.INVALID_OPTIONS, `setAuth: ${message}`);
    });
    this.#p.guard.setKeyring(keyring);
    const ids = [...keyring.keys.keys()].join(', ');
    this.#p.log.info(`frame keys replaced: signing with ${keyring.current.id} (keys ${ids})`, {
      key: keyring.current.id,
    });
  }

  metrics(): Metrics {
    if (this.#p.metrics === undefined) {
      throw new DispatchError(
        ErrorCode.INVALID_OPTIONS,
        `dispatcher ${this.id} keeps no metrics: create it with { metrics: true }`,
      );
    }
    return this.#p.metrics;
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
    const clock = this.#p.clock;
    // Tasks not due yet are not drained: nothing of them was sent, so they end now.
    for (const task of this.#p.ledger.unsettled()) {
      if (isDelayed(task)) {
        this.#p.settlement.fail(
          task,
          ErrorCode.CLOSED,
          `dispatcher ${this.id} closed before the task was due`,
          false,
        );
      }
    }
    if (wasRunning && this.#p.ledger.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = clock.setTimeout(resolve, this.#options.drainTimeoutMs);
        this.#p.settlement.whenIdle(() => {
          clock.clearTimer(timer);
          resolve();
        });
      });
    }
    for (const task of this.#p.ledger.unsettled()) {
      // A durable task goes back to the backlog and goes on elsewhere; its local caller gets CLOSED.
      if (task.durable) this.#p.durable.giveBack(task);
      this.#p.settlement.fail(
        task,
        ErrorCode.CLOSED,
        `dispatcher ${this.id} closed before the task settled`,
        true,
      );
    }
    clock.clearTimer(this.#reconcileTimer);
    this.#p.membership.stop();
    this.#p.reports.stop();
    this.#p.wheel.clear();
    if (this.#opened) {
      let timer: Timer | undefined;
      await Promise.race([
        this.#p.delivery.drained(),
        new Promise((resolve) => {
          timer = clock.setTimeout(() => resolve(undefined), OUTBOX_DRAIN_MS);
        }),
      ]);
      clock.clearTimer(timer);
      await this.#p.publisher.stop(OUTBOX_DRAIN_MS);
      await this.#p.durable.close(`dispatcher ${this.id} closed`, OUTBOX_DRAIN_MS);
      await this.#p.transport.close();
    }
    this.#state = 'closed';
  }
}
