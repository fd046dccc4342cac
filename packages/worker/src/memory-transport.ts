/**
 * The worker's transport on a `MemoryRedis` (protocol's in-memory model of
 * Redis) and its clock: the real core runs on it in unit tests and in the
 * deterministic simulator, without a Redis and without sleeping. What is a Lua
 * script or a MULTI on Redis is one synchronous function over the model inside
 * one `command(...)`, so it stays atomic. The heartbeat is modelled as the
 * Redis transport's is (presence.ts): the main loop stamps its turns, and a
 * "thread" — timers on a clock of its own, with a connection of its own — reads
 * them with the same {@link LoopWatch} and beats, so a blocked loop is reported
 * as blocked. By default the thread's clock is the main one; the simulator gives
 * it its own, which keeps running while the main loop is blocked.
 */
import {
  type Clock,
  ConnectionClosedError,
  encodeHeartbeat,
  errorMessage,
  type MemoryConnection,
  type MemoryRedis,
  memoryBeat,
  memoryLeave,
  type Names,
  type ProcessGate,
  type RegistryLogKeys,
  type Timer,
} from '@ringcast/protocol';
import { LoopWatch, msToNs, PolicyReads, SharedLoopState, STALL_MS } from './presence-state.js';
import {
  type ClaimCheck,
  type PresenceHandle,
  type PresenceSetup,
  UNSUBSCRIBE_MS,
  type WorkerTransport,
  type WorkerTransportEvents,
} from './transport.js';
import { leaveKeys, registryLogKeys } from './worker-keys.js';

/** The id claim of identity.ts, as redis-transport.ts's script decides it. */
export function claimOn(
  redis: MemoryRedis,
  key: string,
  channel: string,
  incarnation: string,
  ttlMs: number,
  ownSubscribers: number,
): ClaimCheck {
  const holder = redis.get(key);
  const subscribers = redis.numsub([channel])[0] ?? 0;
  if (holder === incarnation) {
    redis.pexpire(key, ttlMs);
    return { held: true, subscribers };
  }
  if (holder !== null && subscribers > ownSubscribers) return { held: false, subscribers };
  redis.set(key, incarnation, { px: ttlMs });
  return { held: true, subscribers };
}

/** A clock and the process Redis reaches through it (see protocol's `ProcessGate`). */
export interface MemoryThread {
  clock: Clock;
  gate?: ProcessGate;
}

/** Whose time and whose process the transport serves; by default the model's clock, always running. */
export interface MemoryWorkerProcess {
  /** The main loop. */
  main?: MemoryThread;
  /** The heartbeat thread (default: the main loop's clock and gate). */
  thread?: MemoryThread;
  /** Monotonic nanoseconds, as `process.hrtime.bigint()` (default: from the main clock). */
  hrtime?: () => bigint;
}

export class MemoryWorkerTransport implements WorkerTransport {
  readonly clock: Clock;
  readonly #gate: ProcessGate | undefined;
  readonly #thread: MemoryThread;
  readonly #hrtime: () => bigint;
  readonly #redis: MemoryRedis;
  readonly #names: Names;
  readonly #id: string;
  readonly #channel: string;
  #command: MemoryConnection | undefined;
  #subscriber: MemoryConnection | undefined;
  #presence: MemoryPresence | undefined;

  constructor(redis: MemoryRedis, names: Names, id: string, process: MemoryWorkerProcess = {}) {
    const clock = process.main?.clock ?? redis.clock;
    this.clock = clock;
    this.#gate = process.main?.gate;
    this.#thread = process.thread ?? { clock, ...(this.#gate ? { gate: this.#gate } : {}) };
    this.#hrtime = process.hrtime ?? (() => msToNs(clock.now()));
    this.#redis = redis;
    this.#names = names;
    this.#id = id;
    this.#channel = names.workerChannel(id);
  }

  /** Every connection it has open, for a simulated heal after Redis came back. */
  get connections(): MemoryConnection[] {
    const all = [this.#command, this.#subscriber, this.#presence?.connection];
    return all.filter((c): c is MemoryConnection => c !== undefined);
  }

  /** The command connection, for tests that cut it. */
  get command(): MemoryConnection | undefined {
    return this.#command;
  }

  /** The subscriber connection, for tests that cut it. */
  get subscriber(): MemoryConnection | undefined {
    return this.#subscriber;
  }

  get subscriberUp(): boolean {
    return this.#subscriber?.status === 'ready';
  }

  async connect(events: WorkerTransportEvents): Promise<void> {
    const command = this.#redis.connect(`ringcast-worker:${this.#id}`, this.#gate);
    const subscriber = this.#redis.connect(`ringcast-worker:${this.#id}:subscriber`, this.#gate);
    this.#command = command;
    this.#subscriber = subscriber;
    command.on('ready', () => events.commandReady());
    subscriber.on('close', () => events.subscriberClosed());
    subscriber.on('ready', () => events.subscriberReady());
    subscriber.onMessage((_channel, data) => events.message(data));
  }

  #run<T>(run: (redis: MemoryRedis) => T): Promise<T> {
    const command = this.#command;
    return command ? command.command(run) : Promise.reject(new ConnectionClosedError());
  }

  async subscribe(): Promise<void> {
    await this.#subscriber?.subscribe([this.#channel]);
  }

  async unsubscribe(): Promise<void> {
    await this.#subscriber?.unsubscribe([this.#channel]);
  }

  publish(channel: string, frame: string): Promise<number> {
    const command = this.#command;
    return command ? command.publish(channel, frame) : Promise.reject(new ConnectionClosedError());
  }

  claim(incarnation: string, ttlMs: number, subscribed: boolean): Promise<ClaimCheck> {
    const key = this.#names.claimKey(this.#id);
    return this.#run((redis) =>
      claimOn(redis, key, this.#channel, incarnation, ttlMs, subscribed ? 1 : 0),
    );
  }

  readWeightPolicy(): Promise<string | null> {
    return this.#run((redis) => redis.hget(this.#names.weightsKey, this.#id));
  }

  async register(entry: string, incarnation: string, ttlMs: number): Promise<void> {
    await this.#run((redis) => {
      memoryBeat(redis, this.#logKeys(), this.#id, entry, incarnation, ttlMs);
    });
  }

  async leave(): Promise<void> {
    await this.#run((redis) => {
      memoryLeave(redis, this.#logKeys(), this.#id);
      redis.del(leaveKeys(this.#names, this.#id));
    });
  }

  #logKeys(): RegistryLogKeys {
    return registryLogKeys(this.#names, this.#id);
  }

  async publishStats(report: string, ttlMs: number): Promise<void> {
    await this.#run((redis) => {
      redis.set(this.#names.workerStatsKey(this.#id), report, { px: ttlMs });
    });
  }

  async park(replyTo: string, frame: string, ttlMs: number, max: number): Promise<void> {
    const key = this.#names.parkedKey(replyTo);
    await this.#run((redis) => {
      redis.rpush(key, [frame]);
      redis.pexpire(key, ttlMs);
      redis.ltrim(key, -max, -1);
    });
  }

  presence(setup: PresenceSetup): PresenceHandle {
    const names = this.#names;
    const id = this.#id;
    const connection = this.#redis.connect(`ringcast-worker:${id}:presence`, this.#thread.gate);
    const presence = new MemoryPresence(setup, {
      main: this.clock,
      thread: this.#thread.clock,
      hrtime: this.#hrtime,
      connection,
      command: this.#command,
      write: (entry, value) =>
        connection.command((redis) => {
          const policy = memoryBeat(redis, this.#logKeys(), id, entry, value, setup.ttlMs);
          // As the Redis transport's beat does: the claim lives while its holder beats.
          const claim = names.claimKey(id);
          if (redis.get(claim) === setup.incarnation) redis.pexpire(claim, setup.ttlMs);
          return policy;
        }),
    });
    this.#presence = presence;
    return presence;
  }

  startFailure(error: unknown): { message: string; cause: unknown } {
    return { message: `${errorMessage(error)} (redis memory)`, cause: error };
  }

  describe(): string {
    return 'memory';
  }

  async close(): Promise<void> {
    const subscriber = this.#subscriber;
    if (subscriber?.status === 'ready') {
      let timer: Timer | undefined;
      await Promise.race([
        subscriber.unsubscribe([this.#channel]).catch(() => undefined),
        new Promise<void>((resolve) => {
          timer = this.clock.setTimeout(resolve, UNSUBSCRIBE_MS);
        }),
      ]);
      this.clock.clearTimer(timer);
    }
    subscriber?.close();
    this.#command?.close();
  }
}

/** How often the main loop stamps its turn, as presence.ts's does. */
const STAMP_INTERVAL_MS = 50;

interface MemoryPresenceParts {
  main: Clock;
  thread: Clock;
  hrtime: () => bigint;
  /** The thread's own connection. */
  connection: MemoryConnection;
  /** The main command connection: beats stop while it is down, as replies cannot leave. */
  command: MemoryConnection | undefined;
  /** Writes one beat (the registry entry with it); resolves with what it read of the weight policy. */
  write: (entry: string, value: string) => Promise<string | null>;
}

/**
 * presence.ts's heartbeat on the memory model: the main loop stamps its turns
 * every {@link STAMP_INTERVAL_MS}; the thread beats every interval while live,
 * with what the {@link LoopWatch} reads of the stamps, and reads the weight
 * policy with each beat.
 */
class MemoryPresence implements PresenceHandle {
  readonly #setup: PresenceSetup;
  readonly #parts: MemoryPresenceParts;
  readonly #state = new SharedLoopState();
  readonly #watch: LoopWatch;
  readonly #policyReads: PolicyReads;
  #entry: string;
  #stamp: Timer | undefined;
  #beat: Timer | undefined;

  constructor(setup: PresenceSetup, parts: MemoryPresenceParts) {
    this.#setup = setup;
    this.#parts = parts;
    this.#entry = setup.entry;
    this.#policyReads = new PolicyReads(this.#state, setup.policy);
    this.#watch = new LoopWatch(this.#state, setup.intervalMs, setup.ttlMs);
    this.#state.commandReady = parts.command?.status === 'ready';
    parts.command?.on('close', () => {
      this.#state.commandReady = false;
    });
    parts.command?.on('ready', () => {
      this.#state.commandReady = true;
    });
  }

  get connection(): MemoryConnection {
    return this.#parts.connection;
  }

  async start(): Promise<void> {
    const { main, thread } = this.#parts;
    this.#onTurn();
    this.#stamp = main.setInterval(this.#onTurn, STAMP_INTERVAL_MS);
    this.#beat = thread.setInterval(this.#onBeat, this.#setup.intervalMs);
  }

  setLive(live: boolean): void {
    this.#state.live = live;
  }

  setOverdue(count: number): void {
    this.#state.overdue = count;
  }

  setEntry(entry: string): void {
    this.#entry = entry;
    this.#state.newEntry();
    // As the thread does: the new entry is written at once.
    if (this.#beat !== undefined) this.#onBeat();
  }

  async stop(): Promise<void> {
    this.#state.stop();
    this.#parts.main.clearTimer(this.#stamp);
    this.#parts.thread.clearTimer(this.#beat);
    this.#stamp = undefined;
    this.#beat = undefined;
    this.#parts.connection.close();
  }

  #onTurn = (): void => {
    this.#state.turn(this.#parts.hrtime(), msToNs(STALL_MS));
  };

  #onBeat = (): void => {
    if (!this.#state.beating) return;
    const report = this.#watch.sample(this.#parts.hrtime());
    const value = encodeHeartbeat({ incarnation: this.#setup.incarnation, ...report });
    const generation = this.#state.entryGeneration;
    this.#parts
      .write(this.#entry, value)
      .then((policy) => this.#policyReads.read(policy, generation))
      .catch(() => undefined);
  };
}
