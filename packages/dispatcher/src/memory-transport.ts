/**
 * The dispatcher's transport on protocol's `MemoryRedis`: the same operations
 * as `redis-transport.ts`, over an in-memory model of Redis whose time is a
 * `Clock` (a `VirtualClock` in unit tests and the simulator). What Redis does
 * in MULTI or Lua happens here inside one `command(...)` of the model, so it
 * stays atomic. Unlike ioredis, a command sent while a connection is down fails
 * at once rather than waiting in an offline queue.
 */
import {
  type Clock,
  errorMessage,
  type MemoryConnection,
  type MemoryRedis,
  memoryChanges,
  memoryForgetIfEmpty,
  memoryPruned,
  type Names,
  type ProcessGate,
  type RegistryChanges,
} from '@ringcast/protocol';
import { MemoryStore } from './durable/memory-store.js';
import type { RecordKeys } from './durable/record-seal.js';
import type { DurableStore, SettledAnnouncer } from './durable/store.js';
import {
  CommandEpoch,
  type DispatcherTransport,
  type TransportContext,
  type TransportEvents,
} from './transport.js';

/** Whose time and whose process the transport serves; by default the model's own clock, always running. */
export interface MemoryProcess {
  /** The process's clock (the simulator's may be skewed). */
  clock?: Clock;
  /** The process Redis's replies and messages reach (see protocol's `ProcessGate`). */
  gate?: ProcessGate;
}

export class MemoryTransport implements DispatcherTransport {
  readonly clock: Clock;
  readonly #redis: MemoryRedis;
  readonly #gate: ProcessGate | undefined;
  #command: MemoryConnection | undefined;
  #subscriber: MemoryConnection | undefined;
  #names: Names | undefined;
  #parkedKey = '';
  #id = '';
  readonly #commandEpoch = new CommandEpoch();
  #store: DurableStore | undefined;

  constructor(redis: MemoryRedis, process: MemoryProcess = {}) {
    this.#redis = redis;
    this.clock = process.clock ?? redis.clock;
    this.#gate = process.gate;
  }

  /** The command connection, for tests that cut it (`drop`, `restore`). */
  get command(): MemoryConnection | undefined {
    return this.#command;
  }

  /** The subscriber connection, for tests that cut it. */
  get subscriber(): MemoryConnection | undefined {
    return this.#subscriber;
  }

  async open(context: TransportContext, events: TransportEvents): Promise<void> {
    this.#names = context.names;
    this.#parkedKey = context.names.parkedKey(context.id);
    this.#id = context.id;
    const name = `ringcast:dispatcher:${context.id}`;
    const command = this.#redis.connect(name, this.#gate);
    const subscriber = this.#redis.connect(`${name}:sub`, this.#gate);
    this.#command = command;
    this.#subscriber = subscriber;
    command.on('close', () => {
      this.#commandEpoch.dropped();
    });
    command.on('ready', () => {
      if (this.#commandEpoch.everDropped) events.commandRestored();
    });
    subscriber.onMessage((channel, message) => events.message(channel, message));
    subscriber.on('ready', () => events.subscriberReady());
  }

  describeFailure(error: unknown): { message: string; cause: unknown } {
    return { message: errorMessage(error), cause: error };
  }

  subscribe(channels: readonly string[]): Promise<void> {
    return this.#sub().subscribe([...channels]);
  }

  publish(channel: string, frame: string): Promise<number> {
    return this.#commandEpoch.publish(this.#cmd().publish(channel, frame));
  }

  readRegistry(): Promise<Record<string, string>> {
    const key = this.#names!.registryKey;
    return this.#cmd().command((redis) => redis.hgetall(key));
  }

  readHeartbeats(ids: readonly string[]): Promise<Array<string | null>> {
    const names = this.#names!;
    const keys = ids.map((id) => names.heartbeatKey(id));
    return this.#cmd().command((redis) => keys.map((key) => redis.get(key)));
  }

  readChanges(since: number, limit: number): Promise<RegistryChanges> {
    const names = this.#names!;
    return this.#cmd().command((redis) => memoryChanges(redis, names, since, limit));
  }

  readWorkers(
    ids: readonly string[],
  ): Promise<{ entries: Array<string | null>; beats: Array<string | null> }> {
    const names = this.#names!;
    return this.#cmd().command((redis) => ({
      entries: ids.map((id) => redis.hget(names.registryKey, id)),
      beats: ids.map((id) => redis.get(names.heartbeatKey(id))),
    }));
  }

  readWorkerStats(ids: readonly string[]): Promise<Array<string | null>> {
    const names = this.#names!;
    const keys = ids.map((id) => names.workerStatsKey(id));
    return this.#cmd().command((redis) => keys.map((key) => redis.get(key)));
  }

  async publishStats(report: string, ttlMs: number): Promise<void> {
    const key = this.#names!.dispatcherStatsKey(this.#id);
    const index = this.#names!.dispatcherStatsIndexKey;
    const now = this.clock.now();
    await this.#cmd().command((redis) => {
      redis.set(key, report, { px: ttlMs });
      redis.zadd(index, [[now + ttlMs, this.#id]]);
      redis.zrem(index, redis.zrangebyscore(index, Number.NEGATIVE_INFINITY, now - ttlMs - 1));
      if (redis.pttl(index) < ttlMs) redis.pexpire(index, ttlMs);
    });
  }

  async removeStats(): Promise<void> {
    const names = this.#names!;
    await this.#cmd().command((redis) => {
      redis.del([names.dispatcherStatsKey(this.#id)]);
      redis.zrem(names.dispatcherStatsIndexKey, [this.#id]);
    });
  }

  prune(
    entries: ReadonlyArray<{ field: string; entry: string; id: string | undefined }>,
  ): Promise<number> {
    const names = this.#names!;
    const registry = names.registryKey;
    return this.#cmd().command((redis) => {
      let pruned = 0;
      for (const { field, entry, id } of entries) {
        const lapsed = id === undefined || redis.pttl(names.heartbeatKey(id)) === -2;
        if (!lapsed) continue;
        const stored = redis.hget(registry, field);
        if (entry === '') {
          // A deadline left behind by a worker that has neither entry nor heartbeat.
          if (
            id !== undefined &&
            stored === null &&
            redis.zscore(names.heartbeatDeadlinesKey, id) !== null
          ) {
            memoryPruned(redis, names, id);
          }
        } else if (stored === entry) {
          redis.hdel(registry, [field]);
          pruned++;
          if (id !== undefined) memoryPruned(redis, names, id);
        }
      }
      memoryForgetIfEmpty(redis, names);
      return pruned;
    });
  }

  subscriberCounts(channels: readonly string[]): Promise<number[]> {
    return this.#cmd().command((redis) => redis.numsub([...channels]));
  }

  takeParked(dispatcherId?: string): Promise<string[]> {
    const key = dispatcherId === undefined ? this.#parkedKey : this.#names!.parkedKey(dispatcherId);
    return this.#cmd().command((redis) => {
      const frames = redis.lrange(key, 0, -1);
      redis.del([key]);
      return frames;
    });
  }

  durableStore(announce?: SettledAnnouncer, keys?: RecordKeys): DurableStore {
    this.#store ??= new MemoryStore(this.#cmd(), this.#names!, this.clock, announce, keys);
    return this.#store;
  }

  async close(): Promise<void> {
    this.#command?.close();
    this.#subscriber?.close();
  }

  #cmd(): MemoryConnection {
    if (!this.#command) throw new Error('the transport is not open');
    return this.#command;
  }

  #sub(): MemoryConnection {
    if (!this.#subscriber) throw new Error('the transport is not open');
    return this.#subscriber;
  }
}
