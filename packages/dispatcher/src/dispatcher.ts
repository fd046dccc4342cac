import {
  type Clock,
  decode,
  ErrorCode,
  encodeCompactTask,
  encodeMessage,
  errorMessage,
  type Message,
  type Names,
  names,
  Outbox,
  RateLimitedLog,
  type RemoteError,
  TaskTable,
  type Timer,
  type WorkerInfo,
} from '@ringcast/protocol';
import { nanoid } from 'nanoid';
import {
  type CallOptions,
  type DispatchOptions,
  encodePayload,
  readCallOptions,
  thrownMessage,
} from './admission.js';
import { DispatchError } from './errors.js';
import {
  applyHeartbeat,
  HeartbeatProbe,
  type Liveness,
  PRUNE_BATCH,
  readRegistry,
  waitsForAck,
} from './liveness.js';
import { type DispatcherOptions, parseOptions, type ResolvedOptions } from './options.js';
import { RedisTransport } from './redis-transport.js';
import { Ring, type Weighted } from './ring.js';
import {
  acknowledge,
  endAttempt,
  publishFailed,
  queue,
  resend,
  retryAfterError,
  TaskState as State,
  settle,
  startAttempt,
  type TaskRecord as Task,
} from './task.js';
import { TimerWheel } from './timer-wheel.js';
import { isToken } from './token.js';
import type { DispatcherTransport } from './transport.js';

/** Payload and result types of each handler, for typed `dispatch` calls. */
export type TaskMap = Record<string, { payload: unknown; result: unknown }>;

export type { DispatchOptions } from './admission.js';

/** What the dispatcher knows of one live worker. */
export interface WorkerView {
  id: string;
  incarnation: string;
  weight: number;
  concurrency: number;
  maxQueue: number;
  handlers: string[];
  host: string;
  pid: number;
  /** The largest frame it accepts: no task larger is sent to it. */
  maxMessageBytes: number;
  /** Attempts this dispatcher has on the worker now. */
  inflight: number;
  /**
   * False while the worker is suspected (no ack, nobody subscribed), leaving, or
   * its event loop is blocked (it gets no new tasks until it turns again).
   */
  healthy: boolean;
  /** How long its event loop had been blocked at its last heartbeat, in ms; 0 while it turns. */
  blockedMs: number;
  /**
   * Its slots held past their task's deadline by handlers that ignore their signal;
   * they are taken off the capacity this dispatcher uses on it.
   */
  overdue: number;
  /** Milliseconds since the worker was last heard from. */
  lastSeenMs: number;
}

export interface DispatcherStats {
  /** Calls admitted: each is settled, in flight or queued, so `settled.ok + Σ settled.error + inflight + queued === dispatched`. */
  dispatched: number;
  /** Admitted calls that settled, by outcome. */
  settled: { ok: number; error: Partial<Record<ErrorCode, number>> };
  /** Calls refused before admission (closed, bad arguments, too large, queue full, aborted signal), by code; not in `dispatched`. */
  rejected: Partial<Record<ErrorCode, number>>;
  /** New attempts made because an earlier one was lost, refused or failed. */
  redelivered: number;
  /** Replies for an attempt that was no longer current, dropped. */
  staleReplies: number;
  /** Frames or messages from Redis that failed validation, dropped. */
  invalidMessages: number;
  /** Replies workers parked while this dispatcher was not subscribed, recovered. */
  recoveredReplies: number;
  queued: number;
  inflight: number;
  workers: number;
}

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
    options?: DispatchOptions,
  ): Promise<M[K]['result']>;
  workers(): WorkerView[];
  stats(): DispatcherStats;
  /** Stops accepting tasks, waits for in-flight ones up to `drainTimeoutMs`, rejects the rest `CLOSED`. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The worker's own verdict that it aborted the handler because the task's deadline passed. */
function isDeadlineAbort(error: RemoteError): boolean {
  return error.name === 'WorkerError' && error.code === ErrorCode.TIMEOUT;
}

/** The worker's own verdict that it aborted the handler because it was shutting down. */
function isShutdownAbort(error: RemoteError): boolean {
  return error.name === 'WorkerError' && error.code === ErrorCode.CLOSED;
}

/** Orders tasks by when they were dispatched. */
function oldestFirst(a: { seq: number }, b: { seq: number }): number {
  return a.seq - b.seq;
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
): Dispatcher<M> {
  return new RingDispatcher<M>(parseOptions(options), transport);
}

interface WorkerState extends Weighted, Liveness {
  readonly id: string;
  readonly incarnation: string;
  readonly info: WorkerInfo;
  readonly weight: number;
  readonly concurrency: number;
  /** Attempts this dispatcher may have on the worker: its concurrency plus its local queue, less slots stuck past their deadline. */
  capacity: number;
  /** The largest frame it accepts. */
  readonly maxMessageBytes: number;
  readonly handlers: ReadonlySet<string>;
  readonly channel: string;
  inflight: number;
  suspected: boolean;
  leaving: boolean;
  /** A BUSY nack keeps the worker out of picks until then (epoch ms). */
  busyUntil: number;
  lastSeen: number;
  gone: boolean;
}

type TaskRecord = Task<WorkerState>;

const BUSY_BACKOFF_MS = 20;
/**
 * Bytes a task's compact message and its frame take beyond the task's id, the
 * dispatcher's id, the handler and the payload: punctuation and quotes (~15), a
 * deadline (up to 24 digits), the attempt number (7) and the frame with our
 * frame limit in it (~50), with room to spare.
 */
const TASK_OVERHEAD = 160;
/** Longest a handler name (at most 128 characters) can be once JSON-escaped: `\uXXXX` each, and quotes. */
const MAX_HANDLER_JSON = 128 * 6 + 2;
const PUBLISH_RETRY_MS = 200;
const TICK_MS = 10;
/** Heartbeat TTL assumed for workers that do not advertise theirs. */
const DEFAULT_WORKER_TTL_MS = 3_000;
/** Longest wait for a fresh heartbeat when an ack is late; past it the last known one decides. */
const PROBE_TIMEOUT_MS = 1_000;
const LOG_EVERY_MS = 10_000;

class RingDispatcher<M extends TaskMap> implements Dispatcher<M> {
  readonly id: string;
  readonly #options: ResolvedOptions;
  readonly #names: Names;
  readonly #replyChannel: string;
  /** Prefix of every task id: fresh per instance, so ids never repeat across restarts. */
  readonly #incarnation = nanoid(8).replace(/[^A-Za-z0-9]/g, 'x');
  #counter = 0;
  readonly #transport: DispatcherTransport;
  readonly #clock: Clock;
  /** Whether `start()` opened the transport: only then is there anything to read or close. */
  #opened = false;
  #state: 'new' | 'starting' | 'running' | 'closing' | 'closed' = 'new';
  #closing: Promise<void> | undefined;
  #reconcileTimer: Timer | undefined;
  #reconciling = false;
  #reconcileAgain = false;
  #subscribedOnce = false;
  /** Heartbeat lapses are not taken as deaths before this (epoch ms); see `#holdLivenessJudgement`. */
  #judgeLivenessAfter = 0;
  /** The clock reading of the send in progress, for the worker filters it passes to the ring. */
  #now = 0;
  /** The arguments of the `dispatch` call in progress, for `#admit`. */
  #callHandler: unknown;
  #callPayload: unknown;
  #callOptions: DispatchOptions | undefined;
  /** The checked options of the call in progress: one object for every call. */
  readonly #call: CallOptions = { timeoutMs: 0, retries: 0, signal: undefined, aborted: false };

  /** Tasks not yet settled, by `seq`, which is its own hash (the table spreads consecutive numbers). */
  readonly #ledger = new TaskTable<TaskRecord, number>((task) => task.seq);
  readonly #queue: Array<TaskRecord | undefined> = [];
  #queueHead = 0;
  #queued = 0;
  readonly #workers = new Map<string, WorkerState>();
  readonly #byChannel = new Map<string, WorkerState>();
  readonly #ring = new Ring<WorkerState>();
  /** Every handler name some live worker registered, with the largest frame one of them accepts. */
  #handlers = new Map<string, number>();
  /** The smallest frame limit of this dispatcher and every live worker: a task within it fits them all. */
  #smallestLimit: number;
  readonly #wheel: TimerWheel<TaskRecord>;
  readonly #outbox: Outbox<TaskRecord | undefined>;
  readonly #probe: HeartbeatProbe;
  #idleWaiters: Array<() => void> = [];
  readonly #warnings: RateLimitedLog;

  readonly #stats = {
    dispatched: 0,
    ok: 0,
    error: {} as Partial<Record<ErrorCode, number>>,
    rejected: {} as Partial<Record<ErrorCode, number>>,
    redelivered: 0,
    staleReplies: 0,
    invalidMessages: 0,
    recoveredReplies: 0,
  };

  constructor(options: ResolvedOptions, transport: DispatcherTransport) {
    this.#options = options;
    this.#transport = transport;
    const clock = transport.clock;
    this.#clock = clock;
    this.#probe = new HeartbeatProbe(
      (ids) => transport.readHeartbeats(ids),
      clock,
      PROBE_TIMEOUT_MS,
    );
    this.id = options.id;
    this.#names = names(options.namespace);
    this.#replyChannel = this.#names.replyChannel(this.id);
    this.#smallestLimit = options.maxMessageBytes;
    this.#wheel = new TimerWheel(clock, TICK_MS, (task, now) => this.#wake(task, now));
    this.#warnings = new RateLimitedLog(
      (line) => options.logger.warn(line),
      LOG_EVERY_MS,
      () => clock.now(),
    );
    this.#outbox = new Outbox<TaskRecord | undefined>(
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
      { replyTo: this.id, maxBytes: options.maxMessageBytes },
      (flush) => clock.setImmediate(flush),
    );
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') {
      const why =
        this.#state === 'closing' || this.#state === 'closed' ? 'is closed' : 'was already started';
      throw new DispatchError(ErrorCode.CLOSED, `dispatcher ${this.id} ${why}`);
    }
    this.#state = 'starting';
    const transport = this.#transport;
    this.#opened = true;
    try {
      await transport.open(
        { id: this.id, names: this.#names },
        {
          message: (channel, data) => this.#onMessage(channel, data),
          subscriberReady: () => {
            if (this.#subscribedOnce) void this.#resubscribed();
          },
          // Heartbeats could not be refreshed while Redis was away: judge none until they could have been.
          commandRestored: () => this.#holdLivenessJudgement(),
          error: (error, role) => {
            // While starting, errors go into start()'s rejection rather than the log.
            if (this.#state !== 'starting') {
              this.#warn('connection', `redis ${role} connection error: ${errorMessage(error)}`);
            }
          },
        },
      );
      await transport.subscribe([this.#replyChannel, this.#names.controlChannel]);
      this.#subscribedOnce = true;
      // Subscribed, replies reach us rather than the parked list: what it holds now is all there is.
      await this.#collectParked();
      await this.#reconcile();
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
    this.#reconcileTimer = this.#clock.setInterval(
      () => void this.#reconcile(),
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
    // The executor runs synchronously inside the Promise constructor, so the call's
    // arguments can wait in fields for it: one executor for every call, rather than
    // a closure (and its context) per task.
    this.#callHandler = handler;
    this.#callPayload = payload;
    this.#callOptions = options;
    return new Promise(this.#admit);
  }

  /** The body of {@link dispatch}: validates the call and sends or queues the task. */
  readonly #admit = (resolve: (value: unknown) => void, reject: (error: unknown) => void): void => {
    const handler: unknown = this.#callHandler;
    const payload = this.#callPayload;
    const options = this.#callOptions;
    // Not kept past the call: the caller's payload is theirs to let go of.
    this.#callPayload = undefined;
    this.#callOptions = undefined;
    if (this.#state !== 'running') {
      const why = this.#state === 'new' || this.#state === 'starting' ? 'not started' : 'closed';
      reject(this.#refuse(new DispatchError(ErrorCode.CLOSED, `dispatcher ${this.id} is ${why}`)));
      return;
    }
    if (typeof handler !== 'string' || handler.length === 0 || handler.length > 128) {
      reject(
        this.#refuse(
          new DispatchError(
            ErrorCode.UNKNOWN_HANDLER,
            'handler must be a name of 1 to 128 characters',
          ),
        ),
      );
      return;
    }
    // Everything is checked before anything is sent: a bad option must not leave a task behind.
    const call = this.#call;
    let payloadJson: string | undefined;
    try {
      readCallOptions(options, this.#options.timeoutMs, call);
      if (call.aborted) {
        throw new DispatchError(ErrorCode.CANCELLED, 'the signal was aborted before dispatch');
      }
      payloadJson = encodePayload(payload);
    } catch (error) {
      call.signal = undefined;
      reject(this.#refuse(error as DispatchError));
      return;
    }
    const { timeoutMs, retries, signal } = call;
    call.signal = undefined;
    const seq = this.#counter++;
    const id = this.#incarnation + seq.toString(36);
    const now = this.#clock.now();
    const deadline = now + timeoutMs;
    // Ids are ASCII; the handler and payload are counted in UTF-8 only when
    // their bounds (escaped at most 6 bytes per handler character, 3 per
    // payload character) might not fit the smallest receiver.
    let bytes = TASK_OVERHEAD + 2 * id.length + this.id.length + MAX_HANDLER_JSON;
    if (payloadJson !== undefined) bytes += payloadJson.length * 3;
    if (bytes > this.#smallestLimit) bytes = this.#taskBytes(id, handler, payloadJson);
    if (bytes > this.#options.maxMessageBytes) {
      reject(
        this.#refuse(
          new DispatchError(
            ErrorCode.PAYLOAD_TOO_LARGE,
            `task of ${bytes} bytes exceeds maxMessageBytes (${this.#options.maxMessageBytes})`,
          ),
        ),
      );
      return;
    }
    if (this.#workers.size > 0) {
      const largest = this.#handlers.get(handler);
      if (largest === undefined) {
        reject(
          this.#refuse(
            new DispatchError(
              ErrorCode.UNKNOWN_HANDLER,
              `no live worker has a handler named ${JSON.stringify(handler)}`,
            ),
          ),
        );
        return;
      }
      if (bytes > largest) {
        reject(this.#refuse(this.#tooLargeForWorkers(bytes, handler, largest)));
        return;
      }
    }
    const task: TaskRecord = {
      seq,
      id,
      handler,
      payload: payloadJson,
      bytes,
      deadline,
      resolve,
      reject,
      state: State.New,
      attempt: 0,
      spent: 0,
      retriesLeft: retries,
      retried: 0,
      lastError: undefined,
      worker: undefined,
      ackedBy: undefined,
      lastWorker: undefined,
      signal,
      onAbort: undefined,
      wakeAt: 0,
      wheelPrev: undefined,
      wheelNext: undefined,
      wheelSlot: -1,
    };
    // Listening before the task can be sent: a signal that refuses the listener leaves nothing behind.
    if (signal) {
      task.onAbort = () => this.#cancel(task);
      try {
        signal.addEventListener('abort', task.onAbort, { once: true });
      } catch (error) {
        reject(
          this.#refuse(
            new DispatchError(
              ErrorCode.INVALID_OPTIONS,
              'invalid dispatch options: signal.addEventListener threw',
              { cause: error },
            ),
          ),
        );
        return;
      }
    }
    const sent = this.#queued === 0 && this.#send(task, now);
    if (!sent) {
      if (this.#queued >= this.#options.maxQueued) {
        this.#unlisten(task);
        reject(
          this.#refuse(
            new DispatchError(
              ErrorCode.QUEUE_FULL,
              `every worker is full and the local queue holds ${this.#options.maxQueued} tasks`,
            ),
          ),
        );
        return;
      }
      this.#enqueue(task);
      this.#wheel.schedule(task, deadline);
    }
    this.#ledger.add(task, seq);
    this.#stats.dispatched++;
  };

  workers(): WorkerView[] {
    const now = this.#clock.now();
    return [...this.#workers.values()].map((w) => ({
      id: w.id,
      incarnation: w.incarnation,
      weight: w.weight,
      concurrency: w.concurrency,
      maxQueue: w.info.maxQueue,
      maxMessageBytes: w.maxMessageBytes,
      handlers: [...w.handlers],
      host: w.info.host,
      pid: w.info.pid,
      inflight: w.inflight,
      healthy: this.#routable(w, now),
      lastSeenMs: now - w.lastSeen,
      blockedMs: w.blockedMs,
      overdue: w.overdue,
    }));
  }

  stats(): DispatcherStats {
    const s = this.#stats;
    return {
      dispatched: s.dispatched,
      settled: { ok: s.ok, error: { ...s.error } },
      rejected: { ...s.rejected },
      redelivered: s.redelivered,
      staleReplies: s.staleReplies,
      invalidMessages: s.invalidMessages,
      recoveredReplies: s.recoveredReplies,
      queued: this.#queued,
      inflight: this.#ledger.size - this.#queued,
      workers: this.#workers.size,
    };
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
    if (wasRunning && this.#ledger.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = this.#clock.setTimeout(resolve, this.#options.drainTimeoutMs);
        this.#idleWaiters.push(() => {
          this.#clock.clearTimer(timer);
          resolve();
        });
      });
    }
    for (const task of this.#unsettled()) {
      this.#fail(
        task,
        ErrorCode.CLOSED,
        `dispatcher ${this.id} closed before the task settled`,
        true,
      );
    }
    this.#clock.clearTimer(this.#reconcileTimer);
    this.#wheel.clear();
    if (this.#opened) {
      await Promise.race([
        this.#outbox.drained(),
        new Promise((r) => this.#clock.setTimeout(() => r(undefined), 1000)),
      ]);
      await this.#transport.close();
    }
    this.#state = 'closed';
  }

  // ── sending ────────────────────────────────────────────────────────────

  /** Whether `w` can take an attempt of `task` now. Pure, and no closure: it runs for every send. */
  #canTake = (w: WorkerState, task: TaskRecord): boolean =>
    w.inflight < w.capacity &&
    this.#routable(w, this.#now) &&
    w.handlers.has(task.handler) &&
    task.bytes <= w.maxMessageBytes;

  /** Like {@link #canTake}, and not the worker the last attempt went to (by id: a restart under the same id is no better a bet). */
  #canTakeElsewhere = (w: WorkerState, task: TaskRecord): boolean =>
    w.id !== task.lastWorker!.id && this.#canTake(w, task);

  /** Sends a new attempt of `task` to a worker; false when no worker can take it now. */
  #send(task: TaskRecord, now = this.#clock.now()): boolean {
    this.#now = now;
    let worker = task.lastWorker ? this.#ring.pick(this.#canTakeElsewhere, task) : undefined;
    worker ??= this.#ring.pick(this.#canTake, task);
    // Refused only past the attempt bound, which every caller checked before.
    if (!worker || !startAttempt(task, this.#options.maxAttempts)) return false;
    if (task.attempt > 1) this.#stats.redelivered++;
    task.worker = worker;
    task.ackedBy = undefined;
    task.lastWorker = worker;
    worker.inflight++;
    this.#wheel.schedule(task, Math.min(task.deadline, now + this.#options.ackTimeoutMs));
    this.#outbox.push(worker.channel, this.#encodeAttempt(task), task, worker.maxMessageBytes);
    return true;
  }

  /** Exact bytes of a task's frame (the attempt number and deadline at their longest). */
  #taskBytes(id: string, handler: string, payloadJson: string | undefined): number {
    return (
      TASK_OVERHEAD +
      2 * id.length +
      this.id.length +
      Buffer.byteLength(JSON.stringify(handler)) +
      (payloadJson === undefined ? 0 : Buffer.byteLength(payloadJson))
    );
  }

  #tooLargeForWorkers(bytes: number, handler: string, largest: number): DispatchError {
    return new DispatchError(
      ErrorCode.PAYLOAD_TOO_LARGE,
      `task of ${bytes} bytes exceeds the largest frame any live worker with handler ` +
        `${JSON.stringify(handler)} accepts (${largest} bytes)`,
    );
  }

  /**
   * Fails a task no live worker with its handler accepts a frame of its size
   * from, rather than let it wait at the head of the queue for its timeout.
   * Its size may be a loose bound: it is counted exactly before it is judged.
   */
  #failIfTooLarge(task: TaskRecord): boolean {
    const largest = this.#handlers.get(task.handler);
    if (largest === undefined || task.bytes <= largest) return false;
    task.bytes = this.#taskBytes(task.id, task.handler, task.payload);
    if (task.bytes <= largest) return false;
    const error = this.#tooLargeForWorkers(task.bytes, task.handler, largest);
    this.#fail(task, error.code, error.message, false);
    return true;
  }

  #encodeAttempt(task: TaskRecord): string {
    return encodeCompactTask(task.id, task.attempt, task.handler, task.deadline, task.payload);
  }

  /** The token of the task's current attempt. */
  #token(task: TaskRecord): string {
    return `${task.id}.${task.attempt}`;
  }

  #enqueue(task: TaskRecord): void {
    queue(task);
    this.#queue.push(task);
    this.#queued++;
  }

  /** Moves queued tasks to workers while there is capacity. */
  #pump(): void {
    const queue = this.#queue;
    while (this.#queued > 0) {
      const task = queue[this.#queueHead];
      if (task === undefined) break;
      if (task.state !== State.Queued) {
        // Settled while queued; it was already uncounted.
        queue[this.#queueHead++] = undefined;
        continue;
      }
      if (!this.#send(task)) {
        if (this.#failIfTooLarge(task)) continue;
        break;
      }
      queue[this.#queueHead++] = undefined;
      this.#queued--;
    }
    // Slots behind the head are cleared so settled tasks are not kept alive by the queue.
    if (this.#queued === 0) {
      queue.length = 0;
      this.#queueHead = 0;
    } else if (this.#queueHead > 1024 && this.#queueHead * 2 > queue.length) {
      queue.splice(0, this.#queueHead);
      this.#queueHead = 0;
    }
  }

  #routable(w: WorkerState, now: number): boolean {
    return !w.suspected && !w.leaving && !w.gone && w.busyUntil <= now && !w.blocked;
  }

  /** Takes the attempt off its worker's books. */
  #release(task: TaskRecord): void {
    const w = task.worker;
    if (!w) return;
    w.inflight--;
    task.worker = undefined;
  }

  /**
   * The attempt went nowhere or may be lost: try another. `ran` says whether it
   * may have run, which spends one of the task's attempts.
   */
  #redeliver(task: TaskRecord, ran: boolean, why: string): void {
    if (task.state !== State.Sent && task.state !== State.Acked) return;
    this.#release(task);
    if (!endAttempt(task, ran, this.#options.maxAttempts)) {
      this.#fail(
        task,
        ErrorCode.WORKER_LOST,
        `${why}; all ${this.#options.maxAttempts} attempts were lost`,
        false,
      );
      return;
    }
    this.#requeue(task);
  }

  /** Sends a task that is between attempts now, or queues it ahead of newer tasks. */
  #requeue(task: TaskRecord): void {
    if (this.#queued === 0 && this.#send(task)) return;
    // Ahead of newer tasks: it has waited longest.
    if (this.#queueHead > 0) this.#queue[--this.#queueHead] = task;
    else this.#queue.unshift(task);
    this.#queued++;
    if (task.wheelSlot < 0 || task.wakeAt !== task.deadline)
      this.#wheel.schedule(task, task.deadline);
  }

  #nobodyListening(channel: string, tasks: Array<TaskRecord | undefined>): void {
    const worker = this.#byChannel.get(channel);
    if (worker) worker.suspected = true;
    for (const task of tasks) {
      if (task && task.state === State.Sent && task.worker === worker) {
        this.#redeliver(task, false, `nobody was subscribed to ${channel}`);
      }
    }
    this.#pump();
  }

  #publishFailed(channel: string, error: unknown, tasks: Array<TaskRecord | undefined>): void {
    this.#warn('publish', `publish to ${channel} failed: ${errorMessage(error)}`);
    const worker = this.#byChannel.get(channel);
    const retryAt = this.#clock.now() + PUBLISH_RETRY_MS;
    for (const task of tasks) {
      if (task && task.state === State.Sent && task.worker === worker) {
        this.#release(task);
        publishFailed(task);
        this.#wheel.schedule(task, Math.min(task.deadline, retryAt));
      }
    }
    this.#pump();
  }

  // ── settling ───────────────────────────────────────────────────────────

  #settle(task: TaskRecord): boolean {
    const from = settle(task);
    if (from === undefined) return false;
    if (from === State.Queued) this.#queued--;
    this.#release(task);
    this.#wheel.cancel(task);
    this.#ledger.delete(task, task.seq);
    if (task.onAbort) this.#unlisten(task);
    if (this.#ledger.size === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
    return true;
  }

  /**
   * Removes the task's abort listener. Settling runs inside Redis's message
   * handler, so a signal that throws here is logged, never let through.
   */
  #unlisten(task: TaskRecord): void {
    const { signal, onAbort } = task;
    task.signal = undefined;
    task.onAbort = undefined;
    if (!signal || !onAbort) return;
    try {
      signal.removeEventListener('abort', onAbort);
    } catch (error) {
      this.#warn(
        'signal',
        `a task's signal threw from removeEventListener: ${thrownMessage(error)}`,
      );
    }
  }

  #succeed(task: TaskRecord, value: unknown): void {
    if (!this.#settle(task)) return;
    this.#stats.ok++;
    task.resolve(value);
  }

  #fail(
    task: TaskRecord,
    code: ErrorCode,
    message: string,
    cancelRemote: boolean,
    remote?: RemoteError,
  ): void {
    const worker = task.worker;
    const token = this.#token(task);
    if (!this.#settle(task)) return;
    if (cancelRemote && worker && !worker.gone) {
      this.#outbox.push(
        worker.channel,
        encodeMessage({ kind: 'cancel', id: task.id, token }),
        undefined,
        worker.maxMessageBytes,
      );
    }
    task.reject(this.#error(code, message, undefined, remote));
  }

  /**
   * Rejects `task` with `TIMEOUT`. A handler error its retries were still
   * answering when time ran out goes with it, as `remote` and in the message:
   * otherwise the caller would learn only that it was slow.
   */
  #timeout(task: TaskRecord, where: string, cancelRemote: boolean, error = task.lastError): void {
    const last = error ? `; its last handler error was ${error.name}: ${error.message}` : '';
    this.#fail(
      task,
      ErrorCode.TIMEOUT,
      `task did not settle within its timeout${where}${last}`,
      cancelRemote,
      error,
    );
  }

  #cancel(task: TaskRecord): void {
    // Only a signal that is not really one calls its listener while it is being added.
    if (task.state === State.New) return;
    this.#fail(task, ErrorCode.CANCELLED, 'the caller aborted the task', true);
    this.#pump();
  }

  #wake(task: TaskRecord, now: number): void {
    if (task.state === State.Settled) return;
    if (now >= task.deadline) {
      if (task.attempt === 0 && this.#workers.size === 0) {
        this.#fail(task, ErrorCode.NO_WORKERS, 'no worker joined before the task timed out', false);
      } else {
        const where = task.worker
          ? ` on worker ${task.worker.id}`
          : task.attempt > 0
            ? ''
            : ' waiting for a free worker';
        this.#timeout(task, where, true);
      }
      this.#pump();
      return;
    }
    if (task.state === State.Sent) {
      this.#ackMissing(task);
    } else if (task.state === State.Waiting) {
      // Its last attempt is over and accounted for: this is the next one.
      queue(task);
      this.#requeue(task);
      this.#pump();
    } else if (task.state === State.Acked && task.worker?.leaving) {
      this.#redeliver(task, true, `worker ${task.worker.id} left without finishing`);
      this.#pump();
    }
  }

  /**
   * The ack window of the task's attempt closed. If the worker is alive with its
   * event loop blocked, the attempt is most likely waiting in its socket or queue:
   * sending it elsewhere too would run it twice, so wait one more window (bounded
   * by the deadline, and by the heartbeat: a dead worker's lapses). Otherwise the
   * attempt or its ack was lost: suspect the worker, try another. The decision
   * takes a fresh heartbeat, since the last reconcile round may predate the block
   * (see liveness.ts).
   */
  #ackMissing(task: TaskRecord): void {
    const worker = task.worker!;
    const attempt = task.attempt;
    // While the heartbeat is read, the deadline still bounds the task.
    this.#wheel.schedule(task, task.deadline);
    void this.#probe.read(worker.id).then((read) => {
      if (task.state !== State.Sent || task.worker !== worker || task.attempt !== attempt) return;
      if (read.ok && read.beat?.incarnation === worker.incarnation) {
        applyHeartbeat(worker, read.beat, this.#options.reconcileIntervalMs);
      }
      // Redis did not answer in time: the last round's view of the worker decides.
      const busy = read.ok
        ? waitsForAck(read.beat, worker.incarnation)
        : worker.blockedMs > 0 || worker.stalledMs > 0;
      if (busy) {
        this.#warn(
          'blocked-loop',
          `worker ${worker.id}'s event loop is blocked (${worker.blockedMs || worker.stalledMs} ms); ` +
            'waiting for its acks instead of sending its tasks elsewhere',
        );
        this.#wheel.schedule(
          task,
          Math.min(task.deadline, this.#clock.now() + this.#options.ackTimeoutMs),
        );
        return;
      }
      worker.suspected = true;
      this.#warn(
        'ack-timeout',
        `worker ${worker.id} did not acknowledge within ${this.#options.ackTimeoutMs} ms; suspecting it`,
      );
      this.#redeliver(task, true, `worker ${worker.id} did not acknowledge`);
      this.#pump();
    });
  }

  // ── receiving ──────────────────────────────────────────────────────────

  #onMessage(channel: string, data: string): void {
    const decoded = decode(data, { maxBytes: this.#options.maxMessageBytes });
    if (!decoded.ok) {
      this.#stats.invalidMessages++;
      this.#warn('invalid', `dropped an invalid frame on ${channel}: ${decoded.error.message}`);
      return;
    }
    if (decoded.rejected.length > 0) {
      this.#stats.invalidMessages += decoded.rejected.length;
      this.#warn(
        'invalid',
        `dropped ${decoded.rejected.length} invalid message(s) on ${channel}: ${decoded.rejected[0]!.error.message}`,
      );
    }
    const control = channel === this.#names.controlChannel;
    const now = this.#clock.now();
    for (const message of decoded.messages) {
      if (control) this.#onControl(message);
      else this.#onReply(message, now);
    }
    this.#pump();
  }

  #onControl(message: Message): void {
    if (message.kind === 'hello') {
      const known = this.#workers.get(message.worker.id);
      if (known && known.incarnation === message.worker.incarnation) {
        // It re-subscribed after a reconnect: what we re-sent while it could not hear is worth sending again.
        void this.#recover(this.#attemptsOn(known));
      } else {
        // Anyone can publish a hello; a worker counts once its registry entry and heartbeat say so.
        this.#reconcileSoon();
      }
    } else if (message.kind === 'leave') {
      const w = this.#workers.get(message.id);
      if (w && w.incarnation === message.incarnation) this.#workerLeaving(w);
    } else {
      this.#stats.invalidMessages++;
    }
  }

  #onReply(message: Message, now: number): void {
    if (message.kind !== 'ack' && message.kind !== 'nack' && message.kind !== 'result') {
      this.#stats.invalidMessages++;
      return;
    }
    const worker = this.#workers.get(message.worker);
    if (worker) {
      worker.lastSeen = now;
      worker.suspected = false;
    }
    const task = this.#taskById(message.id);
    if (
      !task ||
      !isToken(message.token, task.id, task.attempt) ||
      task.state === State.Queued ||
      task.state === State.Waiting
    ) {
      this.#stats.staleReplies++;
      return;
    }
    switch (message.kind) {
      case 'ack':
        task.ackedBy = message.incarnation;
        if (acknowledge(task)) this.#wheel.schedule(task, task.deadline);
        return;
      case 'nack':
        switch (message.reason) {
          case ErrorCode.BUSY:
          case ErrorCode.DRAINING:
            if (task.worker) {
              if (message.reason === ErrorCode.DRAINING) task.worker.leaving = true;
              else task.worker.busyUntil = this.#clock.now() + BUSY_BACKOFF_MS;
            }
            this.#redeliver(
              task,
              false,
              `worker ${message.worker} refused the task (${message.reason})`,
            );
            return;
          case ErrorCode.EXPIRED:
            this.#timeout(task, ', and reached its worker after its deadline', false);
            return;
          default:
            this.#fail(
              task,
              message.reason,
              message.message ?? `worker ${message.worker} refused the task (${message.reason})`,
              false,
            );
            return;
        }
      case 'result':
        if (message.ok) {
          this.#succeed(task, message.value);
          return;
        }
        // The worker aborts a handler at the deadline, and that error result can reach
        // us before our own timer fires (a busy loop, a coarse tick): the caller's
        // timeout is what happened, not a handler failure.
        if (isDeadlineAbort(message.error)) {
          this.#timeout(task, ` on worker ${message.worker}`, false);
          return;
        }
        if (this.#clock.now() >= task.deadline) {
          this.#timeout(task, ` on worker ${message.worker}`, false, message.error);
          return;
        }
        // A worker that ran out of drain time aborted the handler: the task did not
        // fail, its worker went away mid-run, as if it had died.
        if (isShutdownAbort(message.error)) {
          this.#redeliver(
            task,
            true,
            `worker ${message.worker} shut down before the task finished`,
          );
          return;
        }
        // A retry, not one of maxAttempts, pays for this run (see task.ts).
        if (message.error.retryable && retryAfterError(task, message.error)) {
          const delay = Math.min(
            this.#options.maxRetryBackoffMs,
            this.#options.retryBackoffMs * 2 ** (task.retried - 1),
          );
          this.#release(task);
          this.#wheel.schedule(
            task,
            Math.min(task.deadline, this.#clock.now() + delay * (0.5 + Math.random() / 2)),
          );
          return;
        }
        this.#fail(
          task,
          ErrorCode.HANDLER_ERROR,
          `handler ${task.handler} failed: ${message.error.name}: ${message.error.message}`,
          false,
          message.error,
        );
        return;
    }
  }

  // ── membership ─────────────────────────────────────────────────────────

  #upsertWorker(info: WorkerInfo): void {
    const existing = this.#workers.get(info.id);
    if (existing) {
      existing.lastSeen = this.#clock.now();
      if (existing.incarnation === info.incarnation) return;
    }
    const worker: WorkerState = {
      id: info.id,
      incarnation: info.incarnation,
      info,
      weight: info.weight,
      concurrency: info.concurrency,
      capacity: info.concurrency + info.maxQueue,
      maxMessageBytes: info.maxMessageBytes,
      handlers: new Set(info.handlers),
      channel: this.#names.workerChannel(info.id),
      inflight: 0,
      suspected: false,
      leaving: false,
      busyUntil: 0,
      lastSeen: this.#clock.now(),
      gone: false,
      blockedMs: 0,
      blocked: false,
      stalledMs: 0,
      overdue: 0,
    };
    if (existing) {
      // Restarted under the same id, on the same channel: attempts the new process
      // already acknowledged are running there, not lost with the old one.
      for (const task of this.#attemptsOn(existing)) {
        if (task.ackedBy !== info.incarnation) continue;
        existing.inflight--;
        worker.inflight++;
        task.worker = worker;
        task.lastWorker = worker;
      }
      this.#workerGone(existing, `worker ${info.id} restarted`);
    }
    this.#workers.set(info.id, worker);
    this.#byChannel.set(worker.channel, worker);
    this.#rebuildRing();
    this.#log(
      'info',
      `worker ${info.id} joined (weight ${info.weight}, concurrency ${info.concurrency})`,
    );
  }

  /** The worker is dead or restarted: everything it had goes elsewhere. */
  #workerGone(w: WorkerState, why: string): void {
    if (w.gone) return;
    w.gone = true;
    this.#workers.delete(w.id);
    this.#byChannel.delete(w.channel);
    this.#rebuildRing();
    const attempts = this.#attemptsOn(w);
    this.#log('info', `${why}; re-dispatching its ${attempts.length} unfinished attempt(s)`);
    for (const task of attempts) this.#redeliver(task, true, why);
    this.#pump();
  }

  /** The worker said goodbye: unacknowledged attempts go elsewhere now, acknowledged ones get a grace period. */
  #workerLeaving(w: WorkerState): void {
    w.leaving = true;
    const graceEnd = this.#clock.now() + this.#options.leaveGraceMs;
    for (const task of this.#attemptsOn(w)) {
      if (task.state === State.Sent) this.#redeliver(task, false, `worker ${w.id} left`);
      else this.#wheel.schedule(task, Math.min(task.deadline, graceEnd));
    }
    this.#pump();
  }

  #rebuildRing(): void {
    const workers = [...this.#workers.values()];
    this.#ring.rebuild(workers);
    const handlers = new Map<string, number>();
    let smallest = this.#options.maxMessageBytes;
    for (const w of workers) {
      smallest = Math.min(smallest, w.maxMessageBytes);
      for (const h of w.handlers) {
        handlers.set(h, Math.max(handlers.get(h) ?? 0, w.maxMessageBytes));
      }
    }
    this.#handlers = handlers;
    this.#smallestLimit = smallest;
  }

  /** Re-reads the registry and heartbeats, so a missed hello or a silent death heals. */
  async #reconcile(): Promise<void> {
    if (this.#reconciling || !this.#opened) return;
    this.#reconciling = true;
    try {
      const transport = this.#transport;
      const started = this.#clock.now();
      const round = await readRegistry(transport);
      this.#stats.invalidMessages += round.invalid;
      // An answer this slow means Redis stalled (paused, swapping): heartbeats stalled with it.
      if (this.#clock.now() - started > this.#options.reconcileIntervalMs)
        this.#holdLivenessJudgement();
      const judge = this.#clock.now() >= this.#judgeLivenessAfter;
      const alive = new Set<string>();
      for (const { info, beat } of round.workers) {
        if (beat?.incarnation === info.incarnation) {
          alive.add(info.id);
          this.#upsertWorker(info);
          applyHeartbeat(this.#workers.get(info.id)!, beat, this.#options.reconcileIntervalMs);
        }
      }
      for (const w of [...this.#workers.values()]) {
        if (!alive.has(w.id) && judge) this.#workerGone(w, `worker ${w.id}'s heartbeat lapsed`);
      }
      const suspected = [...this.#workers.values()].filter((w) => w.suspected);
      if (suspected.length > 0) {
        const counts = await transport.subscriberCounts(suspected.map((w) => w.channel));
        suspected.forEach((w, i) => {
          if (counts[i]! > 0) w.suspected = false;
        });
      }
      this.#pump();
      // Dead workers' entries go, so the registry (read whole every round) stays
      // as small as the fleet; never while a lapse may be Redis's doing.
      if (judge && round.lapsed.length > 0) {
        await transport.prune(round.lapsed.slice(0, PRUNE_BATCH));
      }
    } catch (error) {
      this.#warn('reconcile', `registry reconcile failed: ${errorMessage(error)}`);
    } finally {
      this.#reconciling = false;
    }
    if (this.#reconcileAgain && this.#state === 'running') {
      this.#reconcileAgain = false;
      await this.#reconcile();
    }
  }

  /** Reconciles now, or right after the round in progress (whose reads may predate the news). */
  #reconcileSoon(): void {
    if (this.#reconciling) this.#reconcileAgain = true;
    else void this.#reconcile();
  }

  /**
   * After Redis was unreachable or stalled, a worker's heartbeat key may have lapsed
   * (or vanished with a restarted Redis) while the worker was fine; give every
   * worker one heartbeat TTL to refresh it before a lapse counts as death.
   */
  #holdLivenessJudgement(): void {
    let ttl = DEFAULT_WORKER_TTL_MS;
    for (const w of this.#workers.values()) ttl = Math.max(ttl, w.info.heartbeatTtlMs);
    this.#judgeLivenessAfter = Math.max(this.#judgeLivenessAfter, this.#clock.now() + ttl);
  }

  /**
   * The reply subscription came back. Replies published meanwhile were parked
   * by workers (nobody was subscribed) or lost in flight; collect the first and
   * re-send every open attempt with its own token, which workers answer from
   * their record of it instead of running it again.
   */
  async #resubscribed(): Promise<void> {
    if (this.#state !== 'running' || !this.#opened) return;
    try {
      await this.#transport.subscribe([this.#replyChannel, this.#names.controlChannel]);
      await this.#recover(this.#unsettled());
      await this.#reconcile();
    } catch (error) {
      this.#warn('resubscribe', `recovery after resubscribe failed: ${errorMessage(error)}`);
    }
  }

  /**
   * Collects replies parked for us, then re-sends the given open attempts with
   * their own tokens. A worker answers a re-sent attempt from its record (an ack
   * if it is still running, the result if it finished) and never runs it twice.
   * A re-send can be lost too (the worker may not have re-subscribed yet), so it
   * waits for an ack like a first send: the ack timeout is the last resort.
   */
  async #recover(attempts: Iterable<TaskRecord>): Promise<void> {
    const open = [...attempts];
    await this.#collectParked();
    const ackBy = this.#clock.now() + this.#options.ackTimeoutMs;
    for (const task of open) {
      if (!task.worker || !resend(task)) continue;
      this.#wheel.schedule(task, Math.min(task.deadline, ackBy));
      this.#outbox.push(
        task.worker.channel,
        this.#encodeAttempt(task),
        undefined,
        task.worker.maxMessageBytes,
      );
    }
  }

  /**
   * Takes the replies workers parked for this dispatcher's id and handles them
   * as if they had just arrived. At start they can only be a former process's
   * under the same id: their task ids carry its incarnation, so they settle
   * nothing here and count as stale, but they are drained rather than left to
   * expire.
   */
  async #collectParked(): Promise<void> {
    try {
      const frames = await this.#transport.takeParked();
      for (const frame of frames) {
        this.#stats.recoveredReplies++;
        this.#onMessage(this.#replyChannel, frame);
      }
    } catch (error) {
      this.#warn('parked', `collecting parked replies failed: ${errorMessage(error)}`);
    }
  }

  // ── helpers ────────────────────────────────────────────────────────────

  /**
   * The attempts now on `w`. Found by a walk of the ledger rather than kept in a
   * set per worker: it is needed when a worker dies, leaves or restarts, while a
   * set would cost an add and a delete on every task.
   */
  #attemptsOn(w: WorkerState): TaskRecord[] {
    return this.#ledger
      .values()
      .filter((task) => task.worker === w)
      .sort(oldestFirst);
  }

  /**
   * Every task not yet settled, oldest first: what is failed, re-sent or
   * redelivered in bulk keeps the order the tasks were dispatched in.
   */
  #unsettled(): TaskRecord[] {
    return this.#ledger.values().sort(oldestFirst);
  }

  /** The task a reply names, if it is ours and still in the ledger; any other id finds nothing. */
  #taskById(id: string): TaskRecord | undefined {
    const prefix = this.#incarnation;
    if (id.length <= prefix.length || !id.startsWith(prefix)) return undefined;
    const seq = Number.parseInt(id.slice(prefix.length), 36);
    if (!Number.isSafeInteger(seq)) return undefined;
    const task = this.#ledger.get(seq, seq);
    // parseInt forgives signs, spaces and trailing junk: only the exact id counts.
    return task !== undefined && task.id === id ? task : undefined;
  }

  /** Counts a call refused before admission (`stats().rejected`) and returns its error. */
  #refuse(error: DispatchError): DispatchError {
    this.#stats.rejected[error.code] = (this.#stats.rejected[error.code] ?? 0) + 1;
    return error;
  }

  /** Builds the rejection of an admitted task, and counts it: every error a caller sees is in `stats()`. */
  #error(code: ErrorCode, message: string, cause?: unknown, remote?: RemoteError): DispatchError {
    this.#stats.error[code] = (this.#stats.error[code] ?? 0) + 1;
    const options: { cause?: unknown; remote?: RemoteError } = {};
    if (cause !== undefined) options.cause = cause;
    if (remote) options.remote = remote;
    return new DispatchError(code, message, options);
  }

  #log(level: 'info', message: string): void {
    this.#options.logger[level](`[ringcast dispatcher ${this.id}] ${message}`);
  }

  /** A warning; at most one per `kind` (a constant naming the problem) per {@link LOG_EVERY_MS}. */
  #warn(kind: string, message: string): void {
    this.#warnings.log(kind, `[ringcast dispatcher ${this.id}] ${message}`);
  }
}
