/**
 * One simulated deployment: the real dispatcher and worker cores on their
 * in-memory transports, all on ONE VirtualClock and ONE MemoryRedis. Each
 * process sees the clock through its own {@link ProcessClock}, so it can be
 * skewed or killed. Every worker serves the one handler of sim-handler.ts.
 */

import { STRATEGY_NAMES } from '@ringcast/dispatcher';
import { createDispatcherCore, MemoryTransport } from '@ringcast/dispatcher/internal';
import {
  type AuthOptions,
  type InFlight,
  type Logger,
  type MemoryConnection,
  MemoryRedis,
  names,
  ProcessClock,
  VirtualClock,
} from '@ringcast/protocol';
import { createWorkerCore, MemoryWorkerTransport } from '@ringcast/worker/internal';
import type { Checker } from './checker.js';
import {
  DISPATCHER_DRAIN_TIMEOUT_MS,
  FLOOD_MESSAGE_BYTES,
  FLOOD_QUEUE,
  FULL_RECONCILE_MS,
  MAX_ATTEMPTS,
  MAX_MESSAGE_BYTES,
  NAMESPACE,
  OWNER_HEARTBEAT_MS,
  SMALL_MESSAGE_BYTES,
  WORKER_DRAIN_TIMEOUT_MS,
} from './deployment-settings.js';
import type { Random } from './random.js';
import { HANDLER, type Payload, SimHandler } from './sim-handler.js';
import type { SimDispatcher, SimWorker } from './sim-process.js';
import type { Trace } from './trace.js';

/** What a worker id is deployed with. */
interface WorkerConfig {
  concurrency: number;
  maxQueue: number;
  maxMessageBytes: number;
}

export interface WorldOptions {
  random: Random;
  checker: Checker;
  trace: Trace;
  dispatchers: number;
  workers: number;
  /**
   * A flood run (see workload.ts): frames of more than MAX_BATCH messages must be
   * possible, so every process takes frames of {@link FLOOD_MESSAGE_BYTES} and
   * workers queue {@link FLOOD_QUEUE} tasks.
   */
  flood?: boolean;
  /** Frame authentication: the keyring every process starts with (see auth-plan.ts). */
  auth?: AuthOptions;
}

export class World {
  readonly clock = new VirtualClock();
  readonly redis = new MemoryRedis(this.clock);
  readonly origin = this.clock.now();
  readonly dispatchers: SimDispatcher[] = [];
  readonly workers: SimWorker[] = [];
  /** Errors nobody should have seen: unexpected rejections inside the world. */
  readonly errors: string[] = [];
  /** The checker's own connections (not a process's): restored whenever Redis is back. */
  readonly observers: MemoryConnection[] = [];
  readonly #checker: Checker;
  readonly #trace: Trace;
  readonly #random: Random;
  readonly #handler: SimHandler;
  #workerSeq = 0;
  #dispatcherSeq = 0;
  /** Durable task ids: from the run, so that it replays the same. */
  #taskSeq = 0;
  readonly #configs = new Map<string, WorkerConfig>();
  /** Faults have stopped and the run is settling and closing: no process joins now. */
  stopped = false;
  /** The keyring of the moment: what a process started now gets. */
  #auth: AuthOptions | undefined;

  constructor(readonly options: WorldOptions) {
    this.#auth = options.auth;
    this.#checker = options.checker;
    this.#trace = options.trace;
    this.#random = options.random;
    this.#handler = new SimHandler(options.checker, (what) => this.log(what));
    // Redis's pub/sub output limit, scaled to the run's frames: a paused or blocked
    // worker sent a few frames more than it can read is cut off, and so is one sent
    // a burst past the limit in one turn (Redis's hard limit closes it at once).
    const frames = options.flood ? FLOOD_MESSAGE_BYTES : MAX_MESSAGE_BYTES;
    this.redis.pubsubOutputLimit = this.#random.int(2, 6) * (frames / 2);
  }

  /** The keyring of the moment, undefined in a run without frame authentication. */
  get auth(): AuthOptions | undefined {
    return this.#auth;
  }

  /** An operator's rotation step: every process that is not dead takes `auth` now, and so do later ones. */
  setAuth(auth: AuthOptions): void {
    this.#auth = auth;
    for (const p of [...this.dispatchers, ...this.workers]) {
      if (p.state !== 'crashed') p.core.setAuth(auth);
    }
    this.log(
      `keys rotated: signing with ${auth.current} (keys ${Object.keys(auth.keys).join(', ')})`,
    );
  }

  log(what: string): void {
    this.#trace.add(this.clock.now(), this.origin, what);
  }

  /** Starts the dispatchers and the first workers, letting the clock run until they are up. */
  async start(): Promise<void> {
    for (let i = 0; i < this.options.dispatchers; i++)
      this.#addDispatcher(`d${++this.#dispatcherSeq}`);
    const started: Array<Promise<unknown>> = this.dispatchers.map((d) =>
      d.core.start().then(() => this.log(`${d.id} started (${d.strategy})`)),
    );
    for (let i = 0; i < this.options.workers; i++) started.push(this.addWorker());
    let done = false;
    const all = Promise.all(started).finally(() => {
      done = true;
    });
    all.catch(() => undefined);
    await this.clock.runUntil(this.clock.now() + 10_000, () => done);
    await all;
  }

  #logger(id: string): Logger {
    return {
      info: () => undefined,
      warn: (message) => this.log(`${id} warn: ${message.slice(0, 160)}`),
      error: (message) => this.log(`${id} ERROR: ${message.slice(0, 160)}`),
    };
  }

  #addDispatcher(id: string): SimDispatcher {
    const clock = new ProcessClock(this.clock);
    const transport = new MemoryTransport(this.redis, { clock, gate: clock });
    const maxAttempts = this.#random.int(1, MAX_ATTEMPTS);
    // Every strategy keeps the same rules: the checker holds each of them to it.
    const strategy = this.#random.pick(STRATEGY_NAMES);
    const core = createDispatcherCore(
      transport,
      {
        namespace: NAMESPACE,
        id,
        logger: this.#logger(id),
        timeoutMs: 5_000,
        ackTimeoutMs: 600,
        reconcileIntervalMs: 100,
        fullReconcileIntervalMs: FULL_RECONCILE_MS,
        maxAttempts,
        strategy,
        maxMessageBytes: this.options.flood ? FLOOD_MESSAGE_BYTES : MAX_MESSAGE_BYTES,
        drainTimeoutMs: DISPATCHER_DRAIN_TIMEOUT_MS,
        leaveGraceMs: WORKER_DRAIN_TIMEOUT_MS + 1_000,
        retryBackoffMs: 50,
        maxRetryBackoffMs: 400,
        // A dead dispatcher's durable tasks are adopted 300 ms after its last beat.
        ownerHeartbeatMs: OWNER_HEARTBEAT_MS,
        ...(this.#auth ? { auth: this.#auth } : {}),
      },
      { taskId: () => `task-${++this.#taskSeq}` },
    );
    const dispatcher: SimDispatcher = {
      kind: 'dispatcher',
      id,
      clock,
      core,
      maxAttempts,
      strategy,
      open: new Set(),
      command: () => transport.command,
      subscriber: () => transport.subscriber,
      connections: () => [transport.command, transport.subscriber].filter((c) => c !== undefined),
      state: 'running',
    };
    this.dispatchers.push(dispatcher);
    return dispatcher;
  }

  /**
   * Starts a dispatcher after the run began: under a new id, or under `id` again
   * (a restart); resolves when its start() settles.
   */
  addDispatcher(id = `d${++this.#dispatcherSeq}`): Promise<void> {
    const d = this.#addDispatcher(id);
    this.log(`${id} starting (${d.strategy})`);
    return d.core.start().then(
      () => this.log(`${id} started`),
      (error: unknown) => {
        if (d.state === 'running') d.state = 'failed';
        this.log(`${id} failed to start: ${String(error).slice(0, 160)}`);
      },
    );
  }

  /** Dispatchers that are up: calls go to them. */
  get liveDispatchers(): SimDispatcher[] {
    return this.dispatchers.filter((d) => d.state === 'running');
  }

  /** A dispatcher dies (SIGKILL): its timers stop, its connections close, its open calls are abandoned. */
  crashDispatcher(d: SimDispatcher, inFlight: InFlight): void {
    if (d.state !== 'running') return;
    d.state = 'crashed';
    d.clock.kill();
    for (const connection of d.connections()) {
      connection.drop(inFlight);
      connection.close();
    }
    for (const call of d.open) this.#checker.abandoned(call);
    d.open.clear();
    this.log(`${d.id} CRASHED`);
  }

  /** Starts a worker (a new id, or `id` again for a restart); resolves when its start() settles. */
  addWorker(id = `w${++this.#workerSeq}`): Promise<void> {
    const clock = new ProcessClock(this.clock);
    const thread = clock.thread();
    const transport = new MemoryWorkerTransport(this.redis, names(NAMESPACE), id, {
      main: { clock, gate: clock },
      thread: { clock: thread, gate: thread },
      hrtime: () => clock.hrtime(),
    });
    const core = createWorkerCore(
      {
        id,
        namespace: NAMESPACE,
        handlers: {
          [HANDLER]: (payload, ctx) => this.#handler.run(clock, payload as Payload, ctx),
        },
        logger: this.#logger(id),
        ...this.#configOf(id),
        heartbeatIntervalMs: 100,
        heartbeatTtlMs: 400,
        drainTimeoutMs: WORKER_DRAIN_TIMEOUT_MS,
        ...(this.#auth ? { auth: this.#auth } : {}),
      },
      transport,
      // Room for every reply of a run (a few dozen, each under MAX_MESSAGE_BYTES) at a
      // sixty-fourth of the default, which costs more to allocate than a run takes.
      { finishedBytes: 256 * 1024 },
    );
    const worker: SimWorker = {
      kind: 'worker',
      id,
      clock,
      thread,
      core,
      command: () => transport.command,
      subscriber: () => transport.subscriber,
      connections: () => transport.connections,
      state: 'running',
      closed: undefined,
    };
    this.workers.push(worker);
    this.log(`${id} starting`);
    return core.start().then(
      () => this.log(`${id} started`),
      (error: unknown) => {
        // A start can fail under faults (Redis cut mid-start); the worker is then out.
        if (worker.state === 'running') worker.state = 'failed';
        this.log(`${id} failed to start: ${String(error).slice(0, 160)}`);
      },
    );
  }

  /**
   * A worker id's settings, drawn when it first starts: a restart under the same
   * id is the same deployment, so it comes back with the same ones.
   */
  #configOf(id: string): WorkerConfig {
    let config = this.#configs.get(id);
    if (!config) {
      config = {
        concurrency: this.#random.int(1, 4),
        maxQueue: this.#random.int(0, 4),
        // Some workers take smaller frames than the dispatchers: a task must go where it fits.
        maxMessageBytes: this.#random.chance(0.5) ? MAX_MESSAGE_BYTES : SMALL_MESSAGE_BYTES,
      };
      if (this.options.flood) {
        config.maxQueue = FLOOD_QUEUE;
        config.maxMessageBytes = FLOOD_MESSAGE_BYTES;
      }
      this.#configs.set(id, config);
    }
    return config;
  }

  /** Workers that are up and not leaving. */
  get running(): SimWorker[] {
    return this.workers.filter((w) => w.state === 'running');
  }

  /** The worker dies: its timers stop and its connections are cut for good. */
  crash(worker: SimWorker, inFlight: InFlight): void {
    if (worker.state === 'crashed' || worker.state === 'closed') return;
    worker.state = 'crashed';
    worker.clock.kill();
    for (const connection of worker.connections()) {
      connection.drop(inFlight);
      connection.close();
    }
    this.log(`${worker.id} CRASHED`);
  }

  /** The whole process stops (SIGSTOP) for `ms`, heartbeat thread included, then resumes. */
  pause(worker: SimWorker, ms: number): void {
    worker.clock.freeze(ms);
    worker.thread.freeze(ms);
  }

  /** A handler blocks the worker's event loop for `ms`; its heartbeat thread keeps beating. */
  block(worker: SimWorker, ms: number): void {
    worker.clock.freeze(ms);
  }

  /** Ends every pause and block now: faults have stopped. */
  thawAll(): void {
    for (const worker of this.workers) {
      worker.clock.thaw();
      worker.thread.thaw();
    }
    for (const d of this.dispatchers) d.clock.thaw();
  }

  /** The worker closes gracefully. */
  drain(worker: SimWorker): Promise<void> {
    if (worker.closed) return worker.closed;
    if (worker.state === 'running' || worker.state === 'failed') worker.state = 'closing';
    this.log(`${worker.id} closing`);
    worker.closed = worker.core.close().then(
      () => {
        if (worker.state !== 'crashed') worker.state = 'closed';
        this.log(`${worker.id} closed`);
      },
      (error: unknown) => {
        this.errors.push(`${worker.id}.close() rejected: ${String(error)}`);
      },
    );
    return worker.closed;
  }
}
