/**
 * The worker's transport on a `MemoryRedis` (protocol's in-memory model of
 * Redis) and its clock: the real core runs on it in unit tests and in the
 * deterministic simulator, without a Redis and without sleeping. What is a Lua
 * script or a MULTI on Redis is one synchronous function over the model inside
 * one `command(...)`, so it stays atomic. The heartbeat beats from a timer on
 * the clock (there is no second thread to keep beating through a blocked loop).
 */
import {
  type Clock,
  ConnectionClosedError,
  encodeHeartbeat,
  errorMessage,
  type MemoryConnection,
  type MemoryRedis,
  type Names,
  type Timer,
} from '@ringcast/protocol';
import type {
  ClaimCheck,
  PresenceHandle,
  PresenceSetup,
  WorkerTransport,
  WorkerTransportEvents,
} from './transport.js';

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

export class MemoryWorkerTransport implements WorkerTransport {
  readonly clock: Clock;
  readonly #redis: MemoryRedis;
  readonly #names: Names;
  readonly #id: string;
  readonly #channel: string;
  #command: MemoryConnection | undefined;
  #subscriber: MemoryConnection | undefined;

  constructor(redis: MemoryRedis, names: Names, id: string) {
    this.clock = redis.clock;
    this.#redis = redis;
    this.#names = names;
    this.#id = id;
    this.#channel = names.workerChannel(id);
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
    const command = this.#redis.connect(`ringcast-worker:${this.#id}`);
    const subscriber = this.#redis.connect(`ringcast-worker:${this.#id}:subscriber`);
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

  async register(entry: string, incarnation: string, ttlMs: number): Promise<void> {
    await this.#run((redis) => {
      redis.hset(this.#names.registryKey, this.#id, entry);
      redis.set(this.#names.heartbeatKey(this.#id), incarnation, { px: ttlMs });
    });
  }

  async leave(): Promise<void> {
    await this.#run((redis) => {
      redis.hdel(this.#names.registryKey, [this.#id]);
      redis.del([this.#names.heartbeatKey(this.#id), this.#names.claimKey(this.#id)]);
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
    return new MemoryPresence(setup, this.clock, (value) =>
      this.#run((redis) => {
        redis.hset(this.#names.registryKey, this.#id, setup.entry);
        redis.set(this.#names.heartbeatKey(this.#id), value, { px: setup.ttlMs });
      }),
    );
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
      await subscriber.unsubscribe([this.#channel]).catch(() => undefined);
    }
    subscriber?.close();
    this.#command?.close();
  }
}

/** Beats every interval while live: the registry entry and the heartbeat key, together. */
class MemoryPresence implements PresenceHandle {
  readonly #setup: PresenceSetup;
  readonly #clock: Clock;
  readonly #write: (value: string) => Promise<void>;
  #timer: Timer | undefined;
  #live = false;
  #overdue = 0;

  constructor(setup: PresenceSetup, clock: Clock, write: (value: string) => Promise<void>) {
    this.#setup = setup;
    this.#clock = clock;
    this.#write = write;
  }

  async start(): Promise<void> {
    this.#timer = this.#clock.setInterval(this.#beat, this.#setup.intervalMs);
  }

  setLive(live: boolean): void {
    this.#live = live;
  }

  setOverdue(count: number): void {
    this.#overdue = count;
  }

  async stop(): Promise<void> {
    this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#live = false;
  }

  #beat = (): void => {
    if (!this.#live) return;
    const value = encodeHeartbeat({
      incarnation: this.#setup.incarnation,
      blockedMs: 0,
      stalledMs: 0,
      overdue: this.#overdue,
    });
    this.#write(value).catch(() => undefined);
  };
}
