/**
 * The worker: the facade users get from {@link createWorker}, and its
 * lifecycle. Its collaborators, made and wired in worker-parts.ts, are each one
 * concept in a file of its own:
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
  isClusterTarget,
  names,
  parseAuthOptions,
  type WorkerInfo,
} from '@ringcast/protocol';
import { drain } from './drain.js';
import { WorkerError } from './errors.js';
import type { Metrics } from './metrics.js';
import { parseOptions, type ResolvedOptions, type WorkerOptions } from './options.js';
import { RedisWorkerTransport } from './redis-transport.js';
import { safeString } from './serialize.js';
import { snapshot, type WorkerStats } from './stats.js';
import type { PresenceHandle, WorkerTransport } from './transport.js';
import type { Worker, WorkerClosed } from './worker-api.js';
import { type CoreTuning, type WorkerParts, type WorkerState, wireWorker } from './worker-parts.js';

export type { Metrics } from './metrics.js';
export type { WorkerStats } from './stats.js';
export type { Worker, WorkerClosed } from './worker-api.js';
export type { CoreTuning } from './worker-parts.js';

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
export function createWorkerCore(
  options: WorkerOptions,
  transport: WorkerTransport,
  tuning: CoreTuning = {},
): Worker {
  return new RingcastWorker(parseOptions(options), transport, tuning);
}

class RingcastWorker implements Worker {
  readonly #o: ResolvedOptions;
  /** Its collaborators (worker-parts.ts). */
  readonly #p: WorkerParts;
  /** The heartbeat; made at start, before registering. */
  #presence: PresenceHandle | undefined;
  /** Whether the subscription is known to be live; the heartbeat only runs while it is. */
  #live = false;
  #state: WorkerState = 'idle';
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  /** Who asked for the close: the application, or an operator's drain. */
  #closeReason: 'close' | 'drain' = 'close';
  readonly closed: Promise<WorkerClosed>;
  #setClosed!: (closed: WorkerClosed) => void;

  constructor(options: ResolvedOptions, inner: WorkerTransport, tuning: CoreTuning = {}) {
    this.#o = options;
    const workerNames = names(options.namespace, { cluster: isClusterTarget(options.redis) });
    this.closed = new Promise((resolve) => {
      this.#setClosed = resolve;
    });
    this.#p = wireWorker(options, workerNames, inner, tuning, {
      state: () => this.#state,
      presence: () => this.#presence,
      setLive: (live) => this.#setLive(live),
      drain: () => {
        this.#closeReason = 'drain';
        // close() reports its own failure, in `closed`.
        this.close().catch(() => undefined);
      },
    });
  }

  get id(): string {
    return this.#o.id;
  }

  get namespace(): string {
    return this.#o.namespace;
  }

  info(): WorkerInfo {
    return { ...this.#p.info, handlers: [...this.#p.info.handlers] };
  }

  stats(): WorkerStats {
    const now = this.#p.transport.clock.now();
    return snapshot(
      this.#p.stats,
      this.#p.operator.weight,
      this.#p.execution.book.summary(now),
      this.#p.guard.stats(),
    );
  }

  setAuth(auth: AuthOptions): void {
    if (!this.#p.guard.enabled) {
      throw new WorkerError(
        ErrorCode.INVALID_OPTIONS,
        `worker ${this.#o.id} was made without auth: frame authentication cannot be turned on while it runs`,
      );
    }
    const keyring = parseAuthOptions(auth, (message) => {
      throw new WorkerError(ErrorCode.INVALID_OPTIONS, `setAuth: ${message}`);
    });
    this.#p.guard.setKeyring(keyring);
    const ids = [...keyring.keys.keys()].join(', ');
    this.#o.logger.info(`frame keys replaced: signing with ${keyring.current.id} (keys ${ids})`, {
      key: keyring.current.id,
    });
  }

  metrics(): Metrics {
    if (this.#p.metrics === undefined) {
      throw new WorkerError(
        ErrorCode.INVALID_OPTIONS,
        `worker ${this.#o.id} keeps no metrics: create it with { metrics: true }`,
      );
    }
    return this.#p.metrics;
  }

  // ── start ──────────────────────────────────────────────────────────────

  start(): Promise<void> {
    if (this.#state !== 'idle') {
      // A worker starts once: until it is closed, a second call is that one start.
      if (this.#starting !== undefined && this.#closing === undefined) return this.#starting;
      return Promise.reject(
        new WorkerError(ErrorCode.CLOSED, 'the worker is closed and cannot start'),
      );
    }
    this.#state = 'starting';
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const transport = this.#p.transport;
    const identity = this.#p.identity;
    try {
      await transport.connect({
        message: this.#p.intake.frame,
        subscriberClosed: () => this.#setLive(false),
        subscriberReady: () => {
          // The first ready belongs to start(); later ones follow a reconnect.
          if (this.#state === 'running' && !this.#p.stats.fenced) void this.#p.recovery.recover();
        },
        commandReady: () => {
          if (this.#state === 'running' || this.#state === 'closing') this.#p.replies.resend();
        },
        error: this.#onRedisError,
      });
      // Before anything can reach the worker's channel: a reweight frame taken later is newer.
      this.#p.operator.initial(await transport.readWeightPolicy());
      await identity.acquire(false);
      this.#p.intake.hold();
      // Resolves on Redis's reply to SUBSCRIBE: from here on, tasks reach us.
      await transport.subscribe();
      // Another process may have started with this id at the same moment.
      await identity.acquire(true);
      // Kept from now on: what follows (the heartbeat thread starting) can outlast the claim's TTL.
      identity.watch(this.#o.heartbeatIntervalMs, {
        live: () => this.#live,
        shared: (subscribers) => {
          this.#p.stats.sharedChannel++;
          this.#p.errors.log(
            'shared-channel',
            `${subscribers} processes are subscribed to its channel: ` +
              'another process was started with the same id and may run its tasks too; stop it',
          );
        },
        fence: () => this.#fence(),
        failed: (error) =>
          this.#p.warnings.log(
            'identity',
            `checking the worker id's claim failed: ${safeString(error)}`,
          ),
      });
      this.#p.intake.release(true);
      this.#live = true;
      this.#p.info.startedAt = transport.clock.now();
      // The heartbeat is running before the worker is registered, so that no
      // dispatcher can send a task (which may block the main loop) before it beats.
      this.#presence = transport.presence({
        entry: this.#p.registration.entry,
        ttlMs: this.#o.heartbeatTtlMs,
        incarnation: this.#p.info.incarnation,
        intervalMs: this.#o.heartbeatIntervalMs,
        logger: this.#o.logger,
        policy: this.#p.operator.policy,
      });
      await this.#presence.start();
      await this.#p.registration.register();
      this.#presence.setLive(true);
    } catch (error) {
      const closedMeanwhile = this.#state !== 'starting';
      this.#state = 'closed';
      identity.stop();
      this.#p.intake.release(false);
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
    this.#p.executor.startSweep();
    this.#p.publisher.start();
    const { weight, concurrency, handlers } = this.#p.info;
    this.#o.logger.info(
      `started: weight ${weight}, concurrency ${concurrency}, ` +
        `handlers ${handlers.join(', ')}, redis ${transport.describe()}, namespace ${this.#o.namespace}`,
      {
        weight,
        concurrency,
        redis: transport.describe(),
        namespace: this.#o.namespace,
        incarnation: this.#p.info.incarnation,
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
    const { message, cause } = this.#p.transport.startFailure(error);
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
    this.#p.warnings.log('connection', `Redis ${role} connection error: ${errorMessage(error)}`, {
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
    this.#p.stats.sharedChannel++;
    this.#p.stats.fenced = true;
    // Stop beating: the other process's registration is the id's now.
    this.#setLive(false);
    void this.#presence?.stop();
    this.#p.errors.log(
      'fenced',
      `another live process now holds this worker id; ` +
        'this one has stopped taking tasks and should be stopped',
    );
    if (this.#p.transport.subscriberUp) {
      this.#p.transport.unsubscribe().catch((error: unknown) => {
        this.#p.warnings.log(
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
        this.#o.logger.error(`close failed: ${safeString(error)}`);
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
      if (!this.#live) void this.#p.transport.close();
      await this.#starting?.catch(() => undefined);
      if ((this.#state as WorkerState) === 'closed') return;
    }
    this.#state = 'closing';
    this.#p.publisher.stop();
    this.#p.identity.stop();
    // Before the heartbeat key is deleted, so that no beat brings it back.
    await this.#presence?.stop();
    await drain({
      ...this.#o,
      clock: this.#p.transport.clock,
      stats: this.#p.stats,
      admission: this.#p.admission,
      executor: this.#p.executor,
      replies: this.#p.replies,
      leave: () => this.#leave(),
    });
    this.#state = 'closed';
    this.#p.executor.stopSweep();
    await this.#p.transport.close();
    this.#o.logger.info('stopped', { reason: this.#closeReason });
  }

  /** Leaves the ring. A fenced worker's id is another process's. */
  async #leave(): Promise<void> {
    if (this.#p.stats.fenced) return;
    this.#p.publisher.stop();
    await this.#p.registration.leave();
  }
}
