/**
 * The worker: the facade users get from {@link createWorker}, and its
 * lifecycle. It wires the collaborators, each one concept in a file of its own:
 * intake (frames in), admission (take or refuse), executor (run handlers),
 * replies (everything sent back), drain (the graceful close), recovery (after a
 * reconnect), identity (one process per id), registration (its registry entry
 * and hello), operator (reweight and drain requests, the weight policy), and
 * the transport under them all.
 */
import {
  type AuthOptions,
  type ConnectionRole,
  ErrorCode,
  errorMessage,
  FrameGuard,
  isClusterTarget,
  type Names,
  names,
  parseAuthOptions,
  RateLimitedLog,
  TaskTable,
  type WorkerInfo,
} from '@ringcast/protocol';
import { Admission } from './admission.js';
import type { Attempt } from './attempt.js';
import { AttemptSpans } from './attempt-spans.js';
import { drain } from './drain.js';
import { WorkerError } from './errors.js';
import { ExecutionStats } from './execution-stats.js';
import { Executor } from './executor.js';
import { GuardedWorkerTransport } from './guarded-transport.js';
import { IdentityClaim } from './identity.js';
import { Intake } from './intake.js';
import { type Metrics, workerMetrics } from './metrics.js';
import { Operator } from './operator.js';
import { parseOptions, type ResolvedOptions, type WorkerOptions } from './options.js';
import { OverdueSlots } from './overdue.js';
import { Recovery } from './recovery.js';
import { RedisWorkerTransport } from './redis-transport.js';
import { Registration } from './registration.js';
import { Replies } from './replies.js';
import { safeString } from './serialize.js';
import { snapshot, type WorkerStats, zeroStats } from './stats.js';
import { STATS_INTERVAL_MS, StatsPublisher } from './stats-publisher.js';
import type { PresenceHandle, WorkerTransport } from './transport.js';
import type { Worker, WorkerClosed } from './worker-api.js';

export type { Metrics } from './metrics.js';
export type { WorkerStats } from './stats.js';
export type { Worker, WorkerClosed } from './worker-api.js';

/** Creates a worker; validates options at once (throws `INVALID_OPTIONS`), connects on `start()`. */
export function createWorker(options: WorkerOptions): Worker {
  const resolved = parseOptions(options);
  const transport = new RedisWorkerTransport(
    resolved.redis,
    names(resolved.namespace, { cluster: isClusterTarget(resolved.redis) }),
    resolved.id,
  );
  return new RingcastWorker(resolved, transport);
}

/**
 * A worker on a transport of the caller's choosing (memory-transport.ts in unit
 * tests and the simulator); its `redis` option is not used.
 * @internal
 */
/** Settings of the core that are not worker options: for tests and the simulator only. */
export interface CoreTuning {
  /**
   * Bytes kept of finished attempts' replies, to answer re-sends (default 16 MiB).
   * The simulator runs thousands of short-lived workers that finish a few tasks each.
   */
  finishedBytes?: number;
}

export function createWorkerCore(
  options: WorkerOptions,
  transport: WorkerTransport,
  tuning: CoreTuning = {},
): Worker {
  return new RingcastWorker(parseOptions(options), transport, tuning);
}

const LOG_INTERVAL_MS = 10_000;

type State = 'idle' | 'starting' | 'running' | 'closing' | 'closed';

class RingcastWorker implements Worker {
  readonly #o: ResolvedOptions;
  readonly #transport: WorkerTransport;
  readonly #names: Names;
  readonly #registration: Registration;
  /** The registry entry as it stands (the registration's). */
  readonly #info: WorkerInfo;
  readonly #stats = zeroStats();
  /** Warnings, at most one per kind per {@link LOG_INTERVAL_MS}. */
  readonly #warnings: RateLimitedLog;
  /** Errors (a duplicate id), likewise. */
  readonly #errors: RateLimitedLog;
  readonly #replies: Replies;
  readonly #executor: Executor;
  readonly #admission: Admission;
  readonly #intake: Intake;
  readonly #recovery: Recovery;
  readonly #identity: IdentityClaim;
  readonly #operator: Operator;
  readonly #execution: ExecutionStats;
  readonly #publisher: StatsPublisher;
  readonly #metrics: Metrics | undefined;
  readonly #guard: FrameGuard;
  /** The heartbeat; made at start, before registering. */
  #presence: PresenceHandle | undefined;
  /** Whether the subscription is known to be live; the heartbeat only runs while it is. */
  #live = false;
  #state: State = 'idle';
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  /** Who asked for the close: the application, or an operator's drain. */
  #closeReason: 'close' | 'drain' = 'close';
  readonly closed: Promise<WorkerClosed>;
  #setClosed!: (closed: WorkerClosed) => void;

  constructor(options: ResolvedOptions, inner: WorkerTransport, tuning: CoreTuning = {}) {
    this.#o = options;
    this.#names = names(options.namespace, { cluster: isClusterTarget(options.redis) });
    this.closed = new Promise((resolve) => {
      this.#setClosed = resolve;
    });
    const { clock } = inner;
    const now = () => clock.now();
    const { logger } = options;
    this.#warnings = new RateLimitedLog((l, f) => logger.warn(l, f), LOG_INTERVAL_MS, now);
    this.#errors = new RateLimitedLog((l, f) => logger.error(l, f), LOG_INTERVAL_MS, now);
    const guard = new FrameGuard({
      keyring: options.auth,
      clock,
      maxBytes: options.maxMessageBytes,
      log: (kind, line, fields) =>
        this.#warnings.log(kind, `worker ${options.id}: ${line}`, fields),
    });
    this.#guard = guard;
    // Every frame in and out passes the guard: the collaborators get only this transport.
    const transport = new GuardedWorkerTransport(inner, guard, this.#names, options.id);
    this.#transport = transport;
    this.#registration = new Registration(options, this.#names, transport);
    this.#info = this.#registration.info;
    this.#execution = new ExecutionStats(options.handlers.keys(), clock);
    if (options.metrics) {
      const metrics = workerMetrics(this.#execution.book, this.#stats, () => guard.stats().dropped);
      this.#execution.observe(metrics);
      this.#metrics = metrics;
    }
    this.#publisher = new StatsPublisher({
      clock,
      transport,
      execution: this.#execution,
      counters: this.#stats,
      incarnation: this.#info.incarnation,
      ttlMs: Math.max(options.heartbeatTtlMs, 3 * STATS_INTERVAL_MS),
      warn: (line) => this.#warnings.log('stats', `worker ${options.id}: ${line}`),
    });
    const live = new TaskTable<Attempt, string>((attempt) => attempt.task.token);
    this.#replies = new Replies(
      { ...options, ...tuning, incarnation: this.#info.incarnation, names: this.#names },
      transport,
      this.#stats,
      this.#warnings,
      { closed: () => this.#state === 'closed' },
    );
    const overdue = new OverdueSlots(options.id, options.concurrency, options.logger, (count) =>
      this.#admission.overdueChanged(count),
    );
    this.#executor = new Executor(
      options.id,
      options.concurrency,
      clock,
      this.#stats,
      live,
      this.#replies,
      overdue,
      this.#execution,
      new AttemptSpans(options.id),
    );
    this.#admission = new Admission(options, this.#stats, live, this.#executor, this.#replies, {
      accepting: () => this.#state === 'running' || this.#state === 'starting',
      overdueChanged: (count) => this.#presence?.setOverdue(count),
    });
    this.#intake = new Intake(
      { ...options, incarnation: this.#info.incarnation },
      clock,
      this.#warnings,
      this.#stats,
      live,
      this.#admission,
      this.#executor,
      this.#replies,
      {
        fenced: () => this.#stats.fenced,
        probe: (data) => this.#recovery.probe(data),
        operator: () => this.#operator,
        replayed: () => guard.refuse('replay', this.#names.workerChannel(options.id)),
      },
    );
    this.#operator = new Operator(options, this.#warnings, {
      info: this.#info,
      presence: () => this.#presence,
      open: () => this.#state === 'starting' || this.#state === 'running',
      serving: () => this.#state === 'running' && !this.#stats.fenced,
      register: () => this.#registration.register(true),
      drain: () => {
        this.#closeReason = 'drain';
        // close() reports its own failure, in `closed`.
        this.close().catch(() => undefined);
      },
    });
    this.#recovery = new Recovery(this.#names.workerChannel(options.id), transport, {
      serving: () => this.#state === 'running' && !this.#stats.fenced,
      register: () => this.#registration.register(),
      restored: () => {
        this.#setLive(true);
        options.logger.info(`worker ${options.id}: subscription restored, re-registered`);
        this.#replies.resend();
      },
      failed: (error) =>
        this.#warnings.log('resubscribe', `re-subscribing failed: ${safeString(error)}`),
    });
    this.#identity = new IdentityClaim(
      transport,
      clock,
      options.namespace,
      options.id,
      this.#info.incarnation,
      options.heartbeatTtlMs,
    );
  }

  get id(): string {
    return this.#o.id;
  }

  get namespace(): string {
    return this.#o.namespace;
  }

  info(): WorkerInfo {
    return { ...this.#info, handlers: [...this.#info.handlers] };
  }

  stats(): WorkerStats {
    const now = this.#transport.clock.now();
    return snapshot(
      this.#stats,
      this.#operator.weight,
      this.#execution.book.summary(now),
      this.#guard.stats(),
    );
  }

  setAuth(auth: AuthOptions): void {
    if (!this.#guard.enabled) {
      throw new WorkerError(
        ErrorCode.INVALID_OPTIONS,
        `worker ${this.#o.id} was made without auth: frame authentication cannot be turned on while it runs`,
      );
    }
    const keyring = parseAuthOptions(auth, (message) => {
      throw new WorkerError(ErrorCode.INVALID_OPTIONS, `setAuth: ${message}`);
    });
    this.#guard.setKeyring(keyring);
    const ids = [...keyring.keys.keys()].join(', ');
    this.#o.logger.info(
      `worker ${this.#o.id}: frame keys replaced: signing with ${keyring.current.id} (keys ${ids})`,
      { key: keyring.current.id },
    );
  }

  metrics(): Metrics {
    if (this.#metrics === undefined) {
      throw new WorkerError(
        ErrorCode.INVALID_OPTIONS,
        `worker ${this.#o.id} keeps no metrics: create it with { metrics: true }`,
      );
    }
    return this.#metrics;
  }

  // ── start ──────────────────────────────────────────────────────────────

  start(): Promise<void> {
    if (this.#state !== 'idle') {
      return (
        this.#starting ??
        Promise.reject(new WorkerError(ErrorCode.CLOSED, 'the worker is closed and cannot start'))
      );
    }
    this.#state = 'starting';
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const transport = this.#transport;
    const identity = this.#identity;
    try {
      await transport.connect({
        message: this.#intake.frame,
        subscriberClosed: () => this.#setLive(false),
        subscriberReady: () => {
          // The first ready belongs to start(); later ones follow a reconnect.
          if (this.#state === 'running' && !this.#stats.fenced) void this.#recovery.recover();
        },
        commandReady: () => {
          if (this.#state === 'running' || this.#state === 'closing') this.#replies.resend();
        },
        error: this.#onRedisError,
      });
      // Before anything can reach the worker's channel: a reweight frame taken later is newer.
      this.#operator.initial(await transport.readWeightPolicy());
      await identity.acquire(false);
      this.#intake.hold();
      // Resolves on Redis's reply to SUBSCRIBE: from here on, tasks reach us.
      await transport.subscribe();
      // Another process may have started with this id at the same moment.
      await identity.acquire(true);
      // Kept from now on: what follows (the heartbeat thread starting) can outlast the claim's TTL.
      identity.watch(this.#o.heartbeatIntervalMs, {
        live: () => this.#live,
        shared: (subscribers) => {
          this.#stats.sharedChannel++;
          this.#errors.log(
            'shared-channel',
            `worker ${this.#o.id}: ${subscribers} processes are subscribed to its channel: ` +
              'another process was started with the same id and may run its tasks too; stop it',
          );
        },
        fence: () => this.#fence(),
        failed: (error) =>
          this.#warnings.log(
            'identity',
            `checking the worker id's claim failed: ${safeString(error)}`,
          ),
      });
      this.#intake.release(true);
      this.#live = true;
      this.#info.startedAt = transport.clock.now();
      // The heartbeat is running before the worker is registered, so that no
      // dispatcher can send a task (which may block the main loop) before it beats.
      this.#presence = transport.presence({
        entry: this.#registration.entry,
        ttlMs: this.#o.heartbeatTtlMs,
        incarnation: this.#info.incarnation,
        intervalMs: this.#o.heartbeatIntervalMs,
        logger: this.#o.logger,
        policy: this.#operator.policy,
      });
      await this.#presence.start();
      await this.#registration.register();
      this.#presence.setLive(true);
    } catch (error) {
      const closedMeanwhile = this.#state !== 'starting';
      this.#state = 'closed';
      identity.stop();
      this.#intake.release(false);
      await this.#presence?.stop();
      await transport.close();
      const failure = this.#startFailure(error, closedMeanwhile);
      this.#setClosed(
        closedMeanwhile
          ? { reason: this.#closeReason }
          : { reason: 'start-failed', error: failure },
      );
      throw failure;
    }
    // close() ran meanwhile, and finishes the shutdown once this settles.
    if (this.#state !== 'starting') throw this.#closedWhileStarting();
    this.#state = 'running';
    this.#executor.startSweep();
    this.#publisher.start();
    const { weight, concurrency, handlers } = this.#info;
    this.#o.logger.info(
      `worker ${this.#o.id} started: weight ${weight}, concurrency ${concurrency}, ` +
        `handlers ${handlers.join(', ')}, redis ${transport.describe()}, namespace ${this.#o.namespace}`,
      {
        weight,
        concurrency,
        redis: transport.describe(),
        namespace: this.#o.namespace,
        incarnation: this.#info.incarnation,
      },
    );
  }

  #closedWhileStarting(): WorkerError {
    return new WorkerError(ErrorCode.CLOSED, `worker ${this.#o.id} was closed while starting`);
  }

  /** What start() rejects with. */
  #startFailure(error: unknown, closedMeanwhile: boolean): unknown {
    if (closedMeanwhile) return this.#closedWhileStarting();
    if (error instanceof WorkerError && error.code === ErrorCode.DUPLICATE_WORKER) return error;
    const { message, cause } = this.#transport.startFailure(error);
    return new WorkerError(
      ErrorCode.REDIS_ERROR,
      `worker ${this.#o.id} could not start: ${message}`,
      { cause },
    );
  }

  /** No heartbeat while the subscription is not known to be live (see recovery.ts). */
  #setLive(live: boolean): void {
    this.#live = live;
    this.#presence?.setLive(live);
  }

  #onRedisError = (error: Error, role: ConnectionRole): void => {
    // While starting, errors go into start()'s rejection rather than the log.
    if (this.#state === 'starting') return;
    this.#warnings.log('connection', `Redis ${role} connection error: ${errorMessage(error)}`, {
      role,
    });
  };

  /**
   * Another live process took this id (it started while this one was cut off
   * from Redis, or this one was paused past its TTL). Stop serving it: leave its
   * channel, stop the heartbeat that would overwrite the other's registration.
   * Running handlers finish and reply; close() leaves the id's keys alone.
   */
  #fence(): void {
    if (this.#state !== 'running') return;
    this.#stats.sharedChannel++;
    this.#stats.fenced = true;
    // Stop beating: the other process's registration is the id's now.
    this.#setLive(false);
    void this.#presence?.stop();
    this.#errors.log(
      'fenced',
      `worker ${this.#o.id}: another live process now holds this worker id; ` +
        'this one has stopped taking tasks and should be stopped',
    );
    if (this.#transport.subscriberUp) {
      this.#transport.unsubscribe().catch((error: unknown) => {
        this.#warnings.log(
          'identity',
          `unsubscribing a fenced worker failed: ${safeString(error)}`,
        );
      });
    }
  }

  // ── close ──────────────────────────────────────────────────────────────

  close(): Promise<void> {
    this.#closing ??= this.#close().then(
      () => this.#setClosed({ reason: this.#closeReason }),
      (error: unknown) => {
        this.#o.logger.error(`worker ${this.#o.id}: close failed: ${safeString(error)}`);
        this.#setClosed({ reason: this.#closeReason, error });
        throw error;
      },
    );
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    if (this.#state === 'idle') {
      this.#state = 'closed';
      return;
    }
    // A start that failed has torn everything down already.
    if (this.#state === 'closed') return;
    if (this.#state === 'starting') {
      // Mark first, so a start that succeeds does not count itself running.
      this.#state = 'closing';
      // Not subscribed yet: cut a slow connect short rather than wait it out.
      if (!this.#live) void this.#transport.close();
      await this.#starting?.catch(() => undefined);
      if ((this.#state as State) === 'closed') return;
    }
    this.#state = 'closing';
    this.#publisher.stop();
    this.#identity.stop();
    // Before the heartbeat key is deleted, so that no beat brings it back.
    await this.#presence?.stop();
    await drain({
      ...this.#o,
      clock: this.#transport.clock,
      stats: this.#stats,
      admission: this.#admission,
      executor: this.#executor,
      replies: this.#replies,
      leave: () => this.#leave(),
    });
    this.#state = 'closed';
    this.#executor.stopSweep();
    await this.#transport.close();
    this.#o.logger.info(`worker ${this.#o.id} stopped`, { reason: this.#closeReason });
  }

  /** Leaves the ring. A fenced worker's id is another process's. */
  async #leave(): Promise<void> {
    if (this.#stats.fenced) return;
    this.#publisher.stop();
    await this.#registration.leave();
  }
}
