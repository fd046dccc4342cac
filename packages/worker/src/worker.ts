import { hostname } from 'node:os';
import {
  type CancelMessage,
  type ConnectionRole,
  closeConnections,
  connectBoth,
  decode,
  describeRedis,
  ErrorCode,
  encode,
  errorMessage,
  type Message,
  NackReason,
  type Names,
  names,
  Outbox,
  RateLimitedLog,
  startFailure,
  type TaskMessage,
  TaskTable,
  usableCapacity,
  type WorkerInfo,
  watchConnections,
} from '@ringcast/protocol';
import type { ChainableCommander } from 'ioredis';
import { nanoid } from 'nanoid';
import pLimit, { type LimitFunction } from 'p-limit';
import { type Connections, connect } from './connection.js';
import { WorkerError } from './errors.js';
import { FinishedAttempts, hash } from './finished.js';
import { IdentityClaim } from './identity.js';
import {
  type Handler,
  type HandlerContext,
  parseOptions,
  type ResolvedOptions,
  type WorkerOptions,
} from './options.js';
import { OVERDUE_AFTER_MS, OverdueSlots } from './overdue.js';
import { Presence } from './presence.js';
import { ReplyEncoder, safeString, serializeError } from './serialize.js';
import { VERSION } from './version.js';

/** Counters since start. */
export interface WorkerStats {
  /** Task messages received, duplicates included. */
  received: number;
  /** Acks sent (a result that stood in for its ack is not counted here). */
  acked: number;
  /** Handler runs that produced a value. */
  succeeded: number;
  /** Handler runs that threw, or whose value could not be sent. */
  failed: number;
  /** Tasks refused, by reason. */
  nacked: Record<NackReason, number>;
  /** Frames and messages dropped as invalid. */
  invalid: number;
  /** Re-sent attempts answered from the worker's record instead of running again. */
  duplicates: number;
  /** Attempts cancelled by their dispatcher (queued ones never run). */
  cancelled: number;
  /** Replies kept in Redis because their dispatcher was not subscribed. */
  parked: number;
  /** Replies dropped because Redis could not take them and the retry list was full. */
  dropped: number;
  /** Handlers running now. */
  inflight: number;
  /** Tasks waiting for a free slot now. */
  queued: number;
  /** Checks that found another live process subscribed to this worker's channel: its id runs twice. */
  sharedChannel: number;
  /** Whether another live process holds this worker's id, so this one stopped taking tasks. */
  fenced: boolean;
  /**
   * Slots held now by handlers that outlived their task's deadline by more than a
   * second (they ignore `ctx.signal`); dispatchers count them against this
   * worker's capacity until they return.
   */
  overdue: number;
}

/** A worker: subscribes to its channel, runs handlers, replies. Made by {@link createWorker}. */
export interface Worker extends AsyncDisposable {
  /** This worker's id. */
  readonly id: string;
  /** The namespace it serves. */
  readonly namespace: string;
  /**
   * Subscribes, waits for Redis to confirm the subscription, registers the worker
   * and announces it. Resolves once tasks can reach it. A worker starts once.
   * Rejects `DUPLICATE_WORKER` if another live process already serves its id.
   */
  start(): Promise<void>;
  /**
   * Leaves the ring, nacks `DRAINING` anything new and everything queued, lets
   * running handlers finish within `drainTimeoutMs` and delivers their outcomes,
   * aborts the rest (reason `CLOSED`), then disconnects. Idempotent.
   */
  close(): Promise<void>;
  /** A snapshot of the counters. */
  stats(): WorkerStats;
  /** What the worker records about itself in the registry. */
  info(): WorkerInfo;
}

/** Creates a worker; validates options at once (throws `INVALID_OPTIONS`), connects on `start()`. */
export function createWorker(options: WorkerOptions): Worker {
  return new RingcastWorker(parseOptions(options));
}

/** Off-heap bytes for replies of finished attempts (~75,000 of 200 bytes); their index takes half as much again. */
const FINISHED_MAX_BYTES = 16 * 1024 * 1024;
const FINISHED_MAX_AGE_MS = 5 * 60_000;
const SWEEP_INTERVAL_MS = 50;
const MAX_CACHED_REPLY_CHANNELS = 1024;
const LOG_INTERVAL_MS = 10_000;
const MAX_RETRY_FRAMES = 1_000;
/** Frames kept while a starting worker checks its id is its own: one round trip's worth. */
const MAX_HELD_FRAMES = 1_000;
const CLOSE_STEP_MS = 2_000;
const ABORT_GRACE_MS = 1_000;
const PROBE_TIMEOUT_MS = 1_000;
/** Prefix of the worker's self-addressed probe; real frames always start with `{`. */
const PROBE_PREFIX = 'ringcast-probe:';

type State = 'idle' | 'starting' | 'running' | 'closing' | 'closed';

type Phase = 'queued' | 'running' | 'done';

interface Attempt {
  /** Order of arrival, among this worker's attempts. */
  readonly seq: number;
  readonly task: TaskMessage;
  /** The hash of the task's token, for the live-attempt table and the finished replies. */
  readonly hash: number;
  readonly handler: Handler;
  phase: Phase;
  acked: boolean;
  /** Made when the handler first reads `ctx.signal`: most handlers never do. */
  controller: AbortController | undefined;
  /** Why the attempt was aborted before anyone asked for its signal. */
  abortReason: unknown;
}

/** The `ctx` a handler gets; its signal is created only if the handler asks for it. */
class AttemptContext implements HandlerContext {
  readonly taskId: string;
  readonly attempt: number;
  readonly deadline: number;
  readonly workerId: string;
  readonly #attempt: Attempt;

  constructor(attempt: Attempt, workerId: string) {
    this.#attempt = attempt;
    this.taskId = attempt.task.id;
    this.attempt = attempt.task.attempt;
    this.deadline = attempt.task.deadline;
    this.workerId = workerId;
  }

  get signal(): AbortSignal {
    const attempt = this.#attempt;
    if (!attempt.controller) {
      attempt.controller = new AbortController();
      if (attempt.abortReason !== undefined) attempt.controller.abort(attempt.abortReason);
    }
    return attempt.controller.signal;
  }
}

/** The worker's reason for aborting the attempt, if it did. */
function abortedBy(attempt: Attempt): WorkerError | undefined {
  const reason = attempt.controller?.signal.aborted
    ? attempt.controller.signal.reason
    : attempt.abortReason;
  return reason instanceof WorkerError ? reason : undefined;
}

function abort(attempt: Attempt, reason: unknown): void {
  if (attempt.controller) {
    if (!attempt.controller.signal.aborted) attempt.controller.abort(reason);
  } else {
    attempt.abortReason ??= reason;
  }
}

/** Whether a handler's return value is to be awaited; a throwing `then` getter counts, so it becomes a rejection. */
function isThenable(value: unknown): boolean {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  try {
    return typeof (value as { then?: unknown }).then === 'function';
  } catch {
    return true;
  }
}

interface RetryFrame {
  channel: string;
  frame: string;
  replyTo: string;
  count: number;
}

function timeout(ms: number): { promise: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/** Resolves with the promise's value, or undefined after `ms`; never rejects. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  const t = timeout(ms);
  try {
    return await Promise.race([promise.catch(() => undefined), t.promise.then(() => undefined)]);
  } finally {
    t.cancel();
  }
}

class RingcastWorker implements Worker {
  readonly #o: ResolvedOptions;
  readonly #names: Names;
  readonly #channel: string;
  readonly #info: WorkerInfo;
  /**
   * Slots for handlers that return a promise: p-limit holds one until the promise
   * settles, and queues attempts that find every slot taken. A handler started on
   * a free slot that returns a plain value finishes before anything else can run,
   * so it never enters the limiter.
   */
  readonly #limit: LimitFunction;
  /** Attempts it holds, running or queued, before it nacks BUSY; less while slots are overdue. */
  #capacity: number;
  readonly #overdue: OverdueSlots;
  /** The heartbeat, from a thread of its own (presence.ts); made at start, before registering. */
  #presence: Presence | undefined;
  /** Whether the subscription is known to be live; the heartbeat only runs while it is. */
  #live = false;
  readonly #outbox: Outbox<string>;
  readonly #replies: ReplyEncoder;
  /** Attempts queued or running after the turn they arrived in, by token. */
  readonly #attempts = new TaskTable<Attempt, string>((attempt) => attempt.task.token);
  readonly #finished = new FinishedAttempts(FINISHED_MAX_BYTES, FINISHED_MAX_AGE_MS);
  /** Warnings, at most one per kind per {@link LOG_INTERVAL_MS}. */
  readonly #warnings: RateLimitedLog;
  /** Errors (a duplicate id), likewise. */
  readonly #errors: RateLimitedLog;
  readonly #stats: WorkerStats;

  #state: State = 'idle';
  #connections: Connections | undefined;
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #sweep: NodeJS.Timeout | undefined;
  readonly #replyChannels = new Map<string, string>();
  #unacked: Attempt[] = [];
  /** Attempts taken so far: the next one's `seq`. */
  #arrivals = 0;
  #ackScheduled = false;
  #idleWaiters: Array<() => void> = [];
  #retry: RetryFrame[] = [];
  #recovering = false;
  #probe: { nonce: string; seen: () => void } | undefined;
  #identity: IdentityClaim | undefined;
  /** Frames that arrived between subscribing and knowing the id is ours, to take in once it is. */
  #held: string[] | undefined;
  /**
   * Epoch ms, read once per incoming frame and on every deadline sweep: a clock
   * read costs as much as a Map lookup, and tasks of one frame arrive together.
   */
  #now = Date.now();

  constructor(options: ResolvedOptions) {
    this.#o = options;
    this.#names = names(options.namespace);
    this.#channel = this.#names.workerChannel(options.id);
    this.#limit = pLimit(options.concurrency);
    this.#capacity = options.concurrency + options.maxQueue;
    this.#overdue = new OverdueSlots(options.id, options.concurrency, options.logger, (count) => {
      this.#stats.overdue = count;
      // Slots that never free cannot take work, and a queue behind them never drains.
      this.#capacity = count + usableCapacity(options.concurrency, options.maxQueue, count);
      this.#presence?.setOverdue(count);
      this.#shed();
    });
    this.#info = {
      id: options.id,
      incarnation: nanoid(),
      weight: options.weight,
      concurrency: options.concurrency,
      maxQueue: options.maxQueue,
      heartbeatTtlMs: options.heartbeatTtlMs,
      maxMessageBytes: options.maxMessageBytes,
      handlers: [...options.handlers.keys()],
      host: hostname(),
      pid: process.pid,
      version: VERSION,
      startedAt: 0,
    };
    this.#replies = new ReplyEncoder(options.id, this.#info.incarnation, options.maxMessageBytes);
    this.#warnings = new RateLimitedLog((line) => options.logger.warn(line), LOG_INTERVAL_MS);
    this.#errors = new RateLimitedLog((line) => options.logger.error(line), LOG_INTERVAL_MS);
    this.#outbox = new Outbox<string>(
      {
        publish: (channel, frame) => this.#publish(channel, frame),
        published: (_channel, receivers, frame, tags) => {
          if (receivers === 0) this.#park(tags[0]!, frame, tags.length);
        },
        failed: (channel, error, frame, tags) =>
          this.#publishFailed({ channel, frame, replyTo: tags[0]!, count: tags.length }, error),
      },
      options.maxMessageBytes,
      this.#replies.sender,
    );
    this.#stats = {
      received: 0,
      acked: 0,
      succeeded: 0,
      failed: 0,
      nacked: {
        BUSY: 0,
        DRAINING: 0,
        UNKNOWN_HANDLER: 0,
        EXPIRED: 0,
        INVALID_MESSAGE: 0,
      },
      invalid: 0,
      duplicates: 0,
      cancelled: 0,
      parked: 0,
      dropped: 0,
      inflight: 0,
      queued: 0,
      sharedChannel: 0,
      fenced: false,
      overdue: 0,
    };
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
    return { ...this.#stats, nacked: { ...this.#stats.nacked } };
  }

  // ── lifecycle ──────────────────────────────────────────────────────────

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
    const connections = connect(this.#o.redis, `ringcast-worker:${this.#o.id}`);
    this.#connections = connections;
    const { command, subscriber } = connections;
    const errors = watchConnections(connections, this.#onRedisError);
    command.on('ready', this.#onCommandReady);
    subscriber.on('close', this.#onSubscriberClose);
    subscriber.on('ready', this.#onSubscriberReady);
    subscriber.on('message', this.#onMessage);
    const identity = new IdentityClaim(
      command,
      this.#names,
      this.#o.id,
      this.#info.incarnation,
      this.#o.heartbeatTtlMs,
    );
    this.#identity = identity;
    try {
      await connectBoth(connections);
      await identity.acquire(false);
      this.#held = [];
      // Resolves on Redis's reply to SUBSCRIBE: from here on, tasks reach us.
      await subscriber.subscribe(this.#channel);
      // Another process may have started with this id at the same moment.
      await identity.acquire(true);
      const held = this.#held;
      this.#held = undefined;
      for (const frame of held) this.#onMessage(this.#channel, frame);
      this.#live = true;
      this.#info.startedAt = Date.now();
      // The heartbeat thread is connected before the worker is registered, so that
      // no dispatcher can send a task (which may block the main loop) before it runs.
      this.#presence = new Presence({
        redis: this.#o.redis,
        command,
        registryKey: this.#names.registryKey,
        heartbeatKey: this.#names.heartbeatKey(this.#o.id),
        id: this.#o.id,
        entry: JSON.stringify(this.#info),
        ttlMs: this.#o.heartbeatTtlMs,
        incarnation: this.#info.incarnation,
        intervalMs: this.#o.heartbeatIntervalMs,
        logger: this.#o.logger,
      });
      await this.#presence.start();
      await this.#register();
      this.#presence.setLive(true);
    } catch (error) {
      const closedMeanwhile = this.#state !== 'starting';
      this.#state = 'closed';
      this.#held = undefined;
      await this.#presence?.stop();
      await this.#disconnect();
      if (closedMeanwhile) throw this.#closedWhileStarting();
      if (error instanceof WorkerError && error.code === ErrorCode.DUPLICATE_WORKER) throw error;
      const { message, cause } = startFailure(error, errors, this.#o.redis);
      throw new WorkerError(
        ErrorCode.REDIS_ERROR,
        `worker ${this.#o.id} could not start: ${message}`,
        {
          cause,
        },
      );
    }
    // close() ran meanwhile, and finishes the shutdown once this settles.
    if (this.#state !== 'starting') throw this.#closedWhileStarting();
    this.#state = 'running';
    // One sweep for every running handler's deadline, for as long as the worker runs.
    this.#sweep = setInterval(this.#sweepDeadlines, SWEEP_INTERVAL_MS);
    this.#sweep.unref();
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
    this.#o.logger.info(
      `worker ${this.#o.id} started: weight ${this.#o.weight}, concurrency ${this.#o.concurrency}, ` +
        `handlers ${this.#info.handlers.join(', ')}, redis ${describeRedis(this.#o.redis)}, namespace ${this.#o.namespace}`,
    );
  }

  #closedWhileStarting(): WorkerError {
    return new WorkerError(ErrorCode.CLOSED, `worker ${this.#o.id} was closed while starting`);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
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
      if (!this.#live) void this.#disconnect();
      await this.#starting?.catch(() => undefined);
      if (!this.#connections || (this.#state as State) === 'closed') return;
    }
    this.#state = 'closing';
    this.#identity?.stop();
    // Before the heartbeat key is deleted below, so that no beat brings it back.
    await this.#presence?.stop();
    const { command } = this.#connections!;

    // close() may be called from a handler while its frame is still being taken
    // in; the rest of that frame is nacked, and what it started must be known.
    await Promise.resolve();
    this.#settleBeforeLeave();

    // Leave first, so dispatchers stop sending and re-route at once. A fenced
    // worker's id, registry entry and heartbeat are another process's.
    const leave = encode([{ kind: 'leave', id: this.#o.id, incarnation: this.#info.incarnation }]);
    if (!this.#stats.fenced) {
      await within(
        Promise.all([
          command.publish(this.#names.controlChannel, leave),
          command
            .multi()
            .hdel(this.#names.registryKey, this.#o.id)
            .del(this.#names.heartbeatKey(this.#o.id), this.#names.claimKey(this.#o.id))
            .exec(),
        ]),
        CLOSE_STEP_MS,
      );
    }

    if (this.#stats.inflight > 0 && !(await this.#whenIdle(this.#o.drainTimeoutMs))) {
      this.#o.logger.warn(
        `worker ${this.#o.id}: ${this.#stats.inflight} handler(s) still running after ${this.#o.drainTimeoutMs} ms; aborting them`,
      );
      const reason = new WorkerError(ErrorCode.CLOSED, 'the worker is shutting down');
      for (const attempt of this.#attempts.values()) {
        if (attempt.phase === 'running') abort(attempt, reason);
      }
      await this.#whenIdle(ABORT_GRACE_MS);
    }

    await within(this.#outbox.drained(), CLOSE_STEP_MS);
    this.#state = 'closed';
    clearInterval(this.#sweep);
    this.#sweep = undefined;
    await this.#disconnect();
    this.#o.logger.info(`worker ${this.#o.id} stopped`);
  }

  /**
   * A dispatcher re-routes at once every attempt it has not seen acknowledged
   * when the leave arrives. So before the leave, each attempt held here gets its
   * answer: queued ones a `DRAINING` nack (they will run elsewhere), running ones
   * their ack (they finish here). The replies are published now, ahead of the
   * leave and on the same connection: Redis delivers them to each dispatcher first.
   */
  #settleBeforeLeave(): void {
    // Oldest first, as they would have run: their dispatchers re-route them in that order.
    const live = this.#attempts.values().sort((a, b) => a.seq - b.seq);
    for (const attempt of live) {
      if (attempt.phase !== 'queued') continue;
      this.#drop(attempt);
      this.#nack(attempt.task, NackReason.DRAINING, 'the worker is shutting down');
    }
    this.#flushAcks();
    this.#outbox.flush();
  }

  async #disconnect(): Promise<void> {
    const connections = this.#connections;
    if (!connections) return;
    const { command, subscriber } = connections;
    command.off('ready', this.#onCommandReady);
    subscriber.off('ready', this.#onSubscriberReady);
    subscriber.off('close', this.#onSubscriberClose);
    if (subscriber.status === 'ready') await within(subscriber.unsubscribe(), CLOSE_STEP_MS);
    // The 'error' listeners stay: a closing socket may still emit one, and unheard it would crash.
    await closeConnections(connections);
  }

  /** Resolves true once no handler runs, or false after `ms`. */
  async #whenIdle(ms: number): Promise<boolean> {
    if (this.#stats.inflight === 0) return true;
    const t = timeout(ms);
    const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    try {
      await Promise.race([idle, t.promise]);
    } finally {
      t.cancel();
    }
    return this.#stats.inflight === 0;
  }

  // ── registration and liveness ──────────────────────────────────────────

  async #register(): Promise<void> {
    const { command } = this.#connections!;
    const results = await this.#writeRegistration(command.multi()).exec();
    for (const [error] of results ?? []) if (error) throw error;
    await command.publish(
      this.#names.controlChannel,
      encode([{ kind: 'hello', worker: this.#info }]),
    );
  }

  /** Queues the registry entry and a fresh heartbeat key on a MULTI or pipeline. */
  #writeRegistration(batch: ChainableCommander): ChainableCommander {
    return batch
      .hset(this.#names.registryKey, this.#o.id, JSON.stringify(this.#info))
      .set(
        this.#names.heartbeatKey(this.#o.id),
        this.#info.incarnation,
        'PX',
        this.#o.heartbeatTtlMs,
      );
  }

  #onRedisError = (error: Error, role: ConnectionRole): void => {
    // While starting, errors go into start()'s rejection rather than the log.
    if (this.#state === 'starting') return;
    this.#warnings.log('connection', `Redis ${role} connection error: ${errorMessage(error)}`);
  };

  #onSubscriberClose = (): void => {
    // No heartbeat until the subscription is proven again (see #recover).
    this.#live = false;
    this.#presence?.setLive(false);
  };

  #onSubscriberReady = (): void => {
    // The first ready belongs to start(); later ones follow a reconnect.
    if (this.#state === 'running' && !this.#stats.fenced) void this.#recover();
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
    this.#live = false;
    // Stop beating: the other process's registration is the id's now.
    this.#presence?.setLive(false);
    void this.#presence?.stop();
    this.#errors.log(
      'fenced',
      `worker ${this.#o.id}: another live process now holds this worker id; ` +
        'this one has stopped taking tasks and should be stopped',
    );
    const subscriber = this.#connections?.subscriber;
    if (subscriber?.status === 'ready') {
      subscriber.unsubscribe(this.#channel).catch((error: unknown) => {
        this.#warnings.log(
          'identity',
          `unsubscribing a fenced worker failed: ${safeString(error)}`,
        );
      });
    }
  }

  /**
   * After a reconnect ioredis re-sends SUBSCRIBE but nobody confirms it worked:
   * prove it with a probe published to our own channel and seen coming back,
   * then re-register (Redis may have restarted empty) and announce ourselves.
   */
  async #recover(): Promise<void> {
    if (this.#recovering) return;
    this.#recovering = true;
    try {
      const { subscriber } = this.#connections!;
      for (let delay = 100; this.#state === 'running' && subscriber.status === 'ready'; ) {
        try {
          await subscriber.subscribe(this.#channel);
          if (await this.#probeSubscription()) {
            await this.#register();
            this.#live = true;
            this.#presence?.setLive(true);
            this.#o.logger.info(`worker ${this.#o.id}: subscription restored, re-registered`);
            this.#resend();
            return;
          }
        } catch (error) {
          this.#warnings.log('resubscribe', `re-subscribing failed: ${safeString(error)}`);
        }
        const t = timeout(delay);
        await t.promise;
        delay = Math.min(delay * 2, 1_000);
      }
    } finally {
      this.#recovering = false;
    }
  }

  async #probeSubscription(): Promise<boolean> {
    const nonce = nanoid();
    let seen = false;
    const arrived = new Promise<void>((resolve) => {
      this.#probe = {
        nonce,
        seen: () => {
          seen = true;
          resolve();
        },
      };
    });
    await this.#connections!.command.publish(this.#channel, PROBE_PREFIX + nonce);
    await within(arrived, PROBE_TIMEOUT_MS);
    this.#probe = undefined;
    return seen;
  }

  // ── incoming ───────────────────────────────────────────────────────────

  #onMessage = (_channel: string, data: string): void => {
    this.#now = Date.now();
    try {
      if (data.startsWith(PROBE_PREFIX)) {
        if (this.#probe && data === PROBE_PREFIX + this.#probe.nonce) this.#probe.seen();
        return;
      }
      if (this.#held !== undefined) {
        // Bounded: past it, their dispatchers re-send when no ack comes.
        if (this.#held.length < MAX_HELD_FRAMES) this.#held.push(data);
        return;
      }
      // The process that holds the id gets the same frames and answers them.
      if (this.#stats.fenced) return;
      const decoded = decode(data, { maxBytes: this.#o.maxMessageBytes });
      if (!decoded.ok) {
        this.#invalid(decoded.error.message);
        return;
      }
      for (const message of decoded.messages) this.#onTaskOrCancel(message);
      for (const { error, context } of decoded.rejected) {
        this.#invalid(error.message);
        if (context?.kind === 'task' && context.id && context.token && context.replyTo) {
          this.#nack(
            { id: context.id, token: context.token, replyTo: context.replyTo },
            NackReason.INVALID_MESSAGE,
            error.message,
          );
        }
      }
    } catch (error) {
      this.#o.logger.error(
        `worker ${this.#o.id}: failed to handle a message: ${safeString(error)}`,
      );
    }
  };

  #onTaskOrCancel(message: Message): void {
    if (message.kind === 'task') this.#onTask(message);
    else if (message.kind === 'cancel') this.#onCancel(message);
    else this.#invalid(`unexpected "${message.kind}" message on a worker channel`);
  }

  /** Reply channel names, cached: there are few dispatchers, and the id check is not free. */
  #replyChannel(dispatcherId: string): string {
    let channel = this.#replyChannels.get(dispatcherId);
    if (channel === undefined) {
      // Forged ids could grow the cache; a full cache starts over rather than grow.
      if (this.#replyChannels.size >= MAX_CACHED_REPLY_CHANNELS) this.#replyChannels.clear();
      channel = this.#names.replyChannel(dispatcherId);
      this.#replyChannels.set(dispatcherId, channel);
    }
    return channel;
  }

  #invalid(why: string): void {
    this.#stats.invalid++;
    this.#warnings.log('invalid', `worker ${this.#o.id} dropped an invalid message: ${why}`);
  }

  #onTask(task: TaskMessage): void {
    this.#stats.received++;
    const tag = hash(task.token);
    const live = this.#attempts.get(task.token, tag);
    if (live) {
      // Re-sent while queued or running: confirm again, never run twice.
      this.#stats.duplicates++;
      if (live.acked) this.#ack(live.task);
      return;
    }
    const finished = this.#finished.get(task.token, this.#now, tag);
    if (finished !== undefined) {
      // Re-sent after it finished: its dispatcher lost the reply; send it again.
      this.#stats.duplicates++;
      this.#outbox.push(
        this.#replyChannel(task.replyTo),
        finished,
        task.replyTo,
        this.#replyLimit(task),
      );
      return;
    }
    if (this.#state !== 'running' && this.#state !== 'starting') {
      this.#nack(task, NackReason.DRAINING, 'the worker is shutting down');
      return;
    }
    const handler = this.#o.handlers.get(task.handler);
    if (!handler) {
      this.#nack(
        task,
        NackReason.UNKNOWN_HANDLER,
        `no handler named ${JSON.stringify(task.handler)}`,
      );
      return;
    }
    if (task.deadline <= this.#now) {
      this.#nack(task, NackReason.EXPIRED, 'the deadline passed before the task arrived');
      return;
    }
    // Cancelled queued attempts stay in the slot queue until their turn comes, when
    // they give the slot straight back; they may not pile up past a second
    // capacity's worth, so that queue stays bounded too.
    if (
      this.#stats.inflight + this.#stats.queued >= this.#capacity ||
      this.#limit.pendingCount >= 2 * this.#capacity
    ) {
      this.#nack(task, NackReason.BUSY, 'concurrency and queue are full');
      return;
    }
    const attempt: Attempt = {
      seq: this.#arrivals++,
      task,
      hash: tag,
      handler,
      phase: 'queued',
      acked: false,
      controller: undefined,
      abortReason: undefined,
    };
    this.#stats.queued++;
    this.#run(attempt);
    // A handler that returned a plain value has finished already, its result
    // standing in for the ack. Nothing can arrive while it runs, so only an attempt
    // still queued or running needs to be found again (re-sent, cancelled, drained).
    if (attempt.phase === 'done') return;
    this.#attempts.add(attempt, tag);
    this.#unacked.push(attempt);
    if (!this.#ackScheduled) {
      this.#ackScheduled = true;
      setImmediate(this.#flushAcks);
    }
  }

  #onCancel(message: CancelMessage): void {
    const attempt = this.#attempts.get(message.token, hash(message.token));
    if (!attempt || attempt.task.id !== message.id) return;
    this.#stats.cancelled++;
    if (attempt.phase === 'queued') {
      this.#drop(attempt);
      return;
    }
    abort(attempt, new WorkerError(ErrorCode.CANCELLED, 'the task was cancelled'));
  }

  /** Forgets a queued attempt; when its turn comes, `#execute` gives the slot straight back. */
  #drop(attempt: Attempt): void {
    attempt.phase = 'done';
    this.#attempts.delete(attempt, attempt.hash);
    this.#stats.queued--;
  }

  /**
   * Slots turned overdue: attempts queued beyond the smaller capacity wait for
   * slots that may never free. The newest go back to their dispatchers (BUSY),
   * which send them to other workers rather than let them time out here.
   */
  #shed(): void {
    let excess = this.#stats.inflight + this.#stats.queued - this.#capacity;
    if (excess <= 0 || this.#stats.queued === 0) return;
    const queued = this.#attempts
      .values()
      .filter((attempt) => attempt.phase === 'queued')
      .sort((a, b) => b.seq - a.seq);
    for (const attempt of queued) {
      if (excess-- <= 0) break;
      this.#drop(attempt);
      this.#nack(attempt.task, NackReason.BUSY, "this worker's slots are held past their deadline");
    }
  }

  // ── execution ──────────────────────────────────────────────────────────

  /**
   * Starts the attempt now if a slot is free and nobody waits for one, else
   * queues it in the limiter until a slot frees.
   */
  #run(attempt: Attempt): void {
    const limit = this.#limit;
    if (limit.activeCount < this.#o.concurrency && limit.pendingCount === 0) {
      const value = this.#execute(attempt);
      // A promise holds its slot in the limiter until it settles.
      if (value !== undefined) void limit(this.#settle, attempt, value);
    } else {
      void limit(this.#queued, attempt);
    }
  }

  /** A queued attempt's turn: the limiter holds its slot until what this returns settles. */
  #queued = (attempt: Attempt): Promise<void> | undefined => {
    const value = this.#execute(attempt);
    return value === undefined ? undefined : this.#settle(attempt, value);
  };

  /**
   * Runs the attempt's handler. Returns the thenable it returned, still to be
   * settled; undefined when the attempt has ended already (it returned a plain
   * value, threw, expired while queued, or was cancelled or drained while it waited).
   */
  #execute(attempt: Attempt): unknown {
    // Cancelled or drained while it waited: the slot goes straight back.
    if (attempt.phase !== 'queued') return undefined;
    const { task } = attempt;
    this.#stats.queued--;
    if (task.deadline <= Date.now()) {
      this.#finish(
        attempt,
        this.#encodeNack(task, NackReason.EXPIRED, 'the deadline passed while queued'),
      );
      this.#stats.nacked.EXPIRED++;
      return undefined;
    }
    attempt.phase = 'running';
    this.#stats.inflight++;
    let value: unknown;
    try {
      value = attempt.handler(task.payload, new AttemptContext(attempt, this.#o.id));
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
    const result = this.#replies.ok(task.id, task.token, value, task.replyMaxBytes);
    if (result.ok) this.#stats.succeeded++;
    else this.#stats.failed++;
    this.#ended(attempt, result.encoded);
  }

  #failed(attempt: Attempt, error: unknown): void {
    // A handler that gave up because the worker aborted it (deadline, shutdown)
    // throws whatever its API throws (often an AbortError); report why it was
    // aborted, which the dispatcher acts on, rather than that symptom.
    const cause = abortedBy(attempt) ?? error;
    const { task } = attempt;
    this.#stats.failed++;
    this.#ended(
      attempt,
      this.#replies.error(task.id, task.token, serializeError(cause), task.replyMaxBytes),
    );
  }

  #ended(attempt: Attempt, encoded: string): void {
    this.#stats.inflight--;
    this.#finish(attempt, encoded);
    if (this.#stats.inflight === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  #sweepDeadlines = (): void => {
    const now = Date.now();
    this.#now = now;
    if (this.#stats.inflight === 0) {
      if (this.#stats.overdue > 0) this.#overdue.update(undefined, now);
      return;
    }
    let overdue: string[] | undefined;
    for (const attempt of this.#attempts.values()) {
      if (attempt.phase !== 'running' || attempt.task.deadline > now) continue;
      if (attempt.task.deadline + OVERDUE_AFTER_MS <= now) {
        overdue ??= [];
        overdue.push(attempt.task.handler);
      }
      if (attempt.abortReason !== undefined || attempt.controller?.signal.aborted) continue;
      abort(attempt, new WorkerError(ErrorCode.TIMEOUT, 'the task deadline passed'));
    }
    if (overdue !== undefined || this.#stats.overdue > 0) this.#overdue.update(overdue, now);
  };

  /** Records the attempt's final reply (for re-sent attempts) and sends it. */
  #finish(attempt: Attempt, encoded: string): void {
    attempt.phase = 'done';
    const { token, replyTo } = attempt.task;
    // A handler that returned at once was never put in the table.
    if (this.#attempts.size > 0) this.#attempts.delete(attempt, attempt.hash);
    this.#finished.add(token, encoded, this.#now, attempt.hash);
    if (this.#state !== 'closed') {
      this.#outbox.push(
        this.#replyChannel(replyTo),
        encoded,
        replyTo,
        this.#replyLimit(attempt.task),
      );
    }
  }

  // ── outgoing ───────────────────────────────────────────────────────────

  /** Acks attempts accepted this turn whose result did not arrive first. */
  #flushAcks = (): void => {
    this.#ackScheduled = false;
    const list = this.#unacked;
    this.#unacked = [];
    for (const attempt of list) {
      if (attempt.phase === 'done' || attempt.acked) continue;
      attempt.acked = true;
      this.#ack(attempt.task);
    }
  };

  #ack(task: TaskMessage): void {
    this.#stats.acked++;
    this.#outbox.push(
      this.#replyChannel(task.replyTo),
      this.#replies.ack(task.id, task.token),
      task.replyTo,
      this.#replyLimit(task),
    );
  }

  /**
   * The largest frame the task's dispatcher accepts, as its task frame said; a
   * frame over it would be dropped unread and its tasks taken for lost. One that
   * did not say gets frames within our own limit, as both sides once assumed.
   */
  #replyLimit(task: { replyMaxBytes?: number }): number {
    return task.replyMaxBytes ?? this.#o.maxMessageBytes;
  }

  #encodeNack(task: { id: string; token: string }, reason: NackReason, message: string): string {
    return this.#replies.nack(task.id, task.token, reason, message);
  }

  #nack(
    task: { id: string; token: string; replyTo: string; replyMaxBytes?: number },
    reason: NackReason,
    message: string,
  ): void {
    this.#stats.nacked[reason]++;
    if (this.#state === 'closed') return;
    this.#outbox.push(
      this.#replyChannel(task.replyTo),
      this.#encodeNack(task, reason, message),
      task.replyTo,
      this.#replyLimit(task),
    );
  }

  async #publish(channel: string, frame: string): Promise<number> {
    const connections = this.#connections;
    if (!connections) throw new WorkerError(ErrorCode.CLOSED, 'the worker is not connected');
    return connections.command.publish(channel, frame);
  }

  /**
   * Nobody heard the reply: its dispatcher is between subscriptions. Keep the
   * frame in a bounded, expiring list that it reads when it subscribes again.
   */
  #park(replyTo: string, frame: string, count: number): void {
    const connections = this.#connections;
    if (!connections || this.#state === 'closed') {
      this.#stats.dropped += count;
      return;
    }
    const key = this.#names.parkedKey(replyTo);
    connections.command
      .multi()
      .rpush(key, frame)
      .pexpire(key, this.#o.parkTtlMs)
      .ltrim(key, -this.#o.maxParked, -1)
      .exec()
      .then((results) => {
        const failed = results?.find(([error]) => error)?.[0];
        if (failed) throw failed;
        this.#stats.parked += count;
      })
      .catch((error: unknown) => {
        this.#stats.dropped += count;
        this.#warnings.log(
          'park',
          `could not park ${count} repl(ies) for ${replyTo}: ${safeString(error)}`,
        );
      });
  }

  /** A publish failed (Redis unreachable): keep the frame, bounded, to send on reconnect. */
  #publishFailed(frame: RetryFrame, error: unknown): void {
    this.#warnings.log('publish', `publish to ${frame.channel} failed: ${safeString(error)}`);
    if (this.#state === 'closed') {
      this.#stats.dropped += frame.count;
      return;
    }
    this.#retry.push(frame);
    while (this.#retry.length > MAX_RETRY_FRAMES) this.#stats.dropped += this.#retry.shift()!.count;
  }

  #onCommandReady = (): void => {
    if (this.#state === 'running' || this.#state === 'closing') this.#resend();
  };

  #resend(): void {
    const frames = this.#retry;
    if (frames.length === 0) return;
    this.#retry = [];
    for (const frame of frames) {
      this.#publish(frame.channel, frame.frame).then(
        (receivers) => {
          if (receivers === 0) this.#park(frame.replyTo, frame.frame, frame.count);
        },
        (error: unknown) => this.#publishFailed(frame, error),
      );
    }
  }
}
