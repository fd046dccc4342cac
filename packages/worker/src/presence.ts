/**
 * Presence: the worker's heartbeat, kept alive while a handler blocks its event loop.
 *
 * Dispatchers take a worker for dead when its heartbeat key lapses. Refreshed
 * from the main event loop (as it once was), the key lapsed whenever a handler
 * kept that loop busy past the TTL: a CPU-bound handler of 5 s with the default
 * TTL of 3 s made its worker "die", its tasks were sent again, blocked the next
 * worker, and so on, and innocent tasks ran twice or ended `WORKER_LOST`.
 *
 * So the heartbeat is written by a `worker_thread` (presence-thread.ts) with a
 * Redis connection of its own; the thread keeps running while the main loop is
 * blocked. The main loop stamps every turn into shared memory (presence-state.ts)
 * from a cheap timer, and each beat carries how long the loop has been blocked
 * and its last stall: dispatchers then route nothing new to a blocked worker and,
 * when an ack is late, wait for it instead of re-sending the task (their side is
 * dispatcher/src/liveness.ts). A busy process is not a dead one; a dead one still
 * looks dead, since the thread dies with it.
 *
 * The thread beats only while the main thread says the subscription is live and
 * the command connection is up, both of which only the main loop can notice; a
 * main loop that is blocked cannot update them, so they lag by the block. If the
 * thread cannot run (no `worker_threads`, options it cannot be given, a client
 * that is not ioredis, a thread that crashed), the main loop beats instead, as
 * before, and a warning says that a blocked loop will make this worker look dead.
 *
 * Each beat also reads the operator's weight policy for the worker (the same
 * MULTI) and hands what it read to the main thread, which decides the weight
 * (weight-policy.ts); a new weight comes back as a new registry entry
 * ({@link Presence.setEntry}), written at once and with every beat after.
 *
 * Costs, none per task: one thread (a V8 isolate, a few MB) and one Redis
 * connection per worker, a 50 ms timer on the main loop, two scripts (the beat,
 * the claim's refresh) and one message between the threads per interval.
 */
import { once } from 'node:events';
import { Worker as Thread } from 'node:worker_threads';
import { encodeHeartbeat, errorMessage, RateLimitedLog, redactText } from '@ringcast/protocol';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import type { Logger } from './options.js';
import {
  type BeatTarget,
  msToNs,
  PolicyReads,
  SharedLoopState,
  STALL_MS,
  STOP_MESSAGE,
  writeBeat,
} from './presence-state.js';
import type {
  PresenceControlMessage,
  PresenceThreadData,
  PresenceThreadMessage,
} from './presence-thread.js';
import { threadRedis } from './thread-redis.js';

/** How often the main loop stamps its turn: fine enough to measure stalls of STALL_MS. */
const STAMP_INTERVAL_MS = 50;
/** How long start() waits for the thread to connect before it goes on without (the main loop beats meanwhile). */
const THREAD_START_MS = 5_000;
/** How long stop() waits for the thread to finish its last beat and close its connection. */
const THREAD_STOP_MS = 2_000;
const LOG_INTERVAL_MS = 10_000;

export interface PresenceOptions extends BeatTarget {
  /** The worker's `redis` option as given: the thread opens a connection like it. */
  redis: string | RedisOptions | Redis | Cluster;
  /** The worker's command connection: for beats from the main loop when the thread cannot. */
  command: Redis;
  intervalMs: number;
  logger: Logger;
  /** What a beat read of the operator's weight policy for this worker, when it may be news. */
  policy(value: string | null): void;
  /**
   * False: no thread, the main loop beats (as when the thread cannot run). For
   * fleets of many workers in one process (the bench's scale scenario), where a
   * thread and a connection each would cost more than the workers. @defaultValue true
   */
  thread?: boolean;
}

type ThreadState = 'starting' | 'up' | 'down';

export class Presence {
  readonly #o: PresenceOptions;
  readonly #state = new SharedLoopState();
  readonly #policyReads: PolicyReads;
  /** The registry entry the main loop's beats write. */
  #entry: string;
  readonly #thresholdNs: bigint;
  readonly #windowNs: bigint;
  /** Failures of single beats: one line per interval at most, apart from other warnings. */
  readonly #errors: RateLimitedLog;
  #thread: Thread | undefined;
  #threadState: ThreadState = 'starting';
  #settled: (() => void) | undefined;
  #stamp: NodeJS.Timeout | undefined;
  #fallback: NodeJS.Timeout | undefined;
  #mainWriting = false;
  #stopping: Promise<void> | undefined;

  constructor(options: PresenceOptions) {
    this.#o = options;
    this.#entry = options.entry;
    this.#policyReads = new PolicyReads(this.#state, options.policy);
    this.#thresholdNs = msToNs(STALL_MS);
    this.#windowNs = msToNs(options.ttlMs);
    this.#errors = new RateLimitedLog((line) => options.logger.warn(line), LOG_INTERVAL_MS);
  }

  /**
   * Starts the heartbeat thread. Resolves once it is connected to Redis (so it
   * beats as soon as {@link setLive} says so), or has failed and the main loop
   * beats instead, or after a bound. Never rejects. Call it before the worker
   * registers: a task that blocks the main loop can come the moment it has.
   */
  async start(): Promise<void> {
    const { command } = this.#o;
    this.#state.commandReady = command.status === 'ready' || command.status === undefined;
    command.on('close', this.#onCommandClose);
    command.on('ready', this.#onCommandReady);
    this.#onTurn();
    this.#stamp = setInterval(this.#onTurn, STAMP_INTERVAL_MS);
    this.#stamp.unref();
    this.#fallback = setInterval(this.#fallbackBeat, this.#o.intervalMs);
    this.#fallback.unref();
    const settled = new Promise<void>((resolve) => {
      this.#settled = resolve;
    });
    this.#startThread();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      settled,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, THREAD_START_MS);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    if (this.#threadState === 'starting') {
      this.#say(
        'warn',
        'the heartbeat thread is not connected to Redis yet; the main event loop beats until it is',
      );
    }
  }

  /**
   * Whether the worker is registered and its subscription known to be live; no
   * beat without it (dispatchers should see it gone). False until first set.
   */
  setLive(live: boolean): void {
    this.#state.live = live;
  }

  /** Slots held past their task's deadline, for the next beat. */
  setOverdue(count: number): void {
    this.#state.overdue = count;
  }

  /** The worker's registry entry changed (its weight did): written at once by the thread, and with every beat. */
  setEntry(entry: string): void {
    this.#entry = entry;
    this.#state.newEntry();
    if (this.#thread && this.#threadState !== 'down' && this.#stopping === undefined) {
      this.#thread.postMessage({ kind: 'entry', entry } satisfies PresenceControlMessage);
    }
  }

  /**
   * Stops beating. Resolves once no beat can land any more, so a heartbeat key
   * deleted after this stays deleted. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#state.stop();
    clearInterval(this.#stamp);
    clearInterval(this.#fallback);
    this.#o.command.off('close', this.#onCommandClose);
    this.#o.command.off('ready', this.#onCommandReady);
    this.#settled?.();
    const thread = this.#thread;
    if (!thread || this.#threadState === 'down') return;
    // Held open while we wait: a process with nothing else to do must not exit mid-close.
    thread.ref();
    // `once` rejects if the thread emits 'error' while it stops: it has stopped either way.
    const exited = once(thread, 'exit').then(
      () => true,
      () => true,
    );
    thread.postMessage(STOP_MESSAGE satisfies PresenceControlMessage);
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      exited,
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), THREAD_STOP_MS);
      }),
    ]);
    clearTimeout(timer);
    if (!done) await thread.terminate().catch(() => undefined);
  }

  #startThread(): void {
    if (this.#o.thread === false) {
      this.#down('turned off by the caller', 'info');
      return;
    }
    const target = threadRedis(this.#o.redis);
    if (target.target === undefined) {
      // A stand-in such as ioredis-mock: a choice made on purpose, not a fault.
      this.#down(target.reason ?? 'no Redis target for it', 'info');
      return;
    }
    const omitted =
      target.omitted.length > 0
        ? ` (options that cannot cross to a thread were left out: ${target.omitted.slice(0, 8).join(', ')})`
        : '';
    const o = this.#o;
    const data: PresenceThreadData = {
      kind: 'ringcast-presence',
      buffer: this.#state.buffer,
      redis: target.target,
      connectionName: `ringcast-worker-presence:${o.id}`,
      registryKey: o.registryKey,
      registryVersionKey: o.registryVersionKey,
      registryChangesKey: o.registryChangesKey,
      heartbeatDeadlinesKey: o.heartbeatDeadlinesKey,
      weightsKey: o.weightsKey,
      heartbeatKey: o.heartbeatKey,
      claimKey: o.claimKey,
      id: o.id,
      entry: this.#entry,
      ttlMs: o.ttlMs,
      incarnation: o.incarnation,
      intervalMs: o.intervalMs,
    };
    let thread: Thread;
    try {
      thread = new Thread(new URL('./presence-thread.js', import.meta.url), { workerData: data });
    } catch (error) {
      this.#down(`${describe(error)}${omitted}`);
      return;
    }
    // The thread must never keep the process alive: a worker's life is its main thread's.
    thread.unref();
    this.#thread = thread;
    thread.on('message', (message: PresenceThreadMessage) => {
      if (message.kind === 'policy') {
        this.#policyReads.read(message.value, message.generation);
        return;
      }
      if (message.kind === 'ready') {
        if (this.#threadState === 'starting') this.#threadState = 'up';
      } else {
        this.#errors.log(
          'heartbeat-thread',
          `heartbeat thread: ${redactText(message.message)}${omitted}`,
        );
      }
      // An error before it connected: no point waiting on; the main loop beats meanwhile.
      this.#settled?.();
    });
    thread.on('error', (error: unknown) => this.#down(`${describe(error)}${omitted}`));
    thread.on('exit', () => {
      if (this.#stopping === undefined) this.#down('it exited');
    });
  }

  /** The thread cannot beat: the main loop does, and the operator learns what that costs. */
  #down(why: string, level: 'info' | 'warn' = 'warn'): void {
    if (this.#threadState === 'down') return;
    this.#threadState = 'down';
    this.#say(
      level,
      `no heartbeat thread (${why}); heartbeats come from the main event loop, ` +
        'so a handler that blocks it longer than heartbeatTtlMs makes this worker look dead',
    );
    this.#settled?.();
    this.#fallbackBeat();
  }

  #say(level: 'info' | 'warn', message: string): void {
    try {
      this.#o.logger[level](message);
    } catch {
      // A broken logger must not take the worker down.
    }
  }

  #onTurn = (): void => {
    this.#state.turn(process.hrtime.bigint(), this.#thresholdNs);
  };

  #onCommandClose = (): void => {
    this.#state.commandReady = false;
  };

  #onCommandReady = (): void => {
    this.#state.commandReady = true;
  };

  /**
   * Runs every interval on the main loop: a cheap check while the thread beats;
   * a beat of its own when the thread is down or has not beaten for two intervals
   * (its connection may be failing while ours is not).
   */
  #fallbackBeat = (): void => {
    if (this.#mainWriting || !this.#state.beating) return;
    const now = process.hrtime.bigint();
    if (
      this.#threadState !== 'down' &&
      now - this.#state.threadBeat < msToNs(2 * this.#o.intervalMs)
    ) {
      return;
    }
    // This runs on the main loop, so the loop is turning: only its last stall is news.
    const value = encodeHeartbeat({
      incarnation: this.#o.incarnation,
      blockedMs: 0,
      stalledMs: this.#state.stalledMs(now, this.#windowNs),
      overdue: this.#state.overdue,
    });
    this.#mainWriting = true;
    const generation = this.#state.entryGeneration;
    writeBeat(this.#o.command, { ...this.#o, entry: this.#entry }, value)
      .then((policy) => this.#policyReads.read(policy, generation))
      .catch((error: unknown) =>
        this.#errors.log('heartbeat', `heartbeat failed: ${describe(error)}`),
      )
      .finally(() => {
        this.#mainWriting = false;
      });
  };
}

function describe(error: unknown): string {
  return errorMessage(error);
}
