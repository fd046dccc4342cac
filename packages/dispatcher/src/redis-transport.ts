/**
 * The dispatcher's transport on ioredis: the only file of the dispatcher that
 * talks to Redis. It owns the two connections (commands, and a subscriber) and
 * their lifecycle, the MULTI and the Lua script, and what a dropped command
 * connection means for a publish in flight.
 */
import {
  CHANGES_SCRIPT,
  type Clock,
  type ConnectionErrors,
  type ConnectionPair,
  closeConnections,
  connectBoth,
  isClusterTarget,
  type Names,
  openIoredisConnections,
  parseChanges,
  type RegistryChanges,
  startFailure,
  systemClock,
  watchConnections,
} from '@ringcast/protocol';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RecordKeys } from './durable/record-seal.js';
import { RedisStore } from './durable/redis-store.js';
import type { DurableStore, SettledAnnouncer } from './durable/store.js';
import {
  CommandEpoch,
  type DispatcherTransport,
  type TransportContext,
  type TransportEvents,
} from './transport.js';

type Connections = ConnectionPair<Redis>;

/**
 * Deletes each entry only if it is still exactly what was read and its heartbeat
 * key is still absent, both checked inside Redis in one step: a worker that
 * registered again in the meantime (its beat script writes entry and heartbeat
 * together) is never deleted. A worker deleted also loses its heartbeat deadline
 * and the change is logged (protocol's registry-log.ts), so that every other
 * dispatcher drops it at its next tick; an entry given as '' stands for none
 * (a deadline left behind: it goes if the worker has neither entry nor heartbeat).
 * With the last entry gone the log goes too, as when the last worker leaves.
 * KEYS: the registry, the log's version and changes, the deadlines, then one
 * heartbeat key per entry (the registry again for an entry that has none, unread).
 * ARGV: per entry its field, the entry as read, and '1' if its key must be absent.
 */
const PRUNE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function logChange(id)
  local seq = string.format('%.0f',
    math.max((tonumber(redis.call('HGET', KEYS[2], 'seq')) or 0) + 1, now * 1000))
  redis.call('HSET', KEYS[2], 'seq', seq)
  redis.call('ZADD', KEYS[3], seq, id)
end
local pruned = 0
for i = 1, #KEYS - 4 do
  local field = ARGV[3 * i - 2]
  local entry = ARGV[3 * i - 1]
  local keyed = ARGV[3 * i] == '1'
  if not keyed or redis.call('EXISTS', KEYS[i + 4]) == 0 then
    local stored = redis.call('HGET', KEYS[1], field)
    if entry == '' then
      if keyed and not stored and redis.call('ZREM', KEYS[4], field) == 1 then logChange(field) end
    elseif stored == entry then
      redis.call('HDEL', KEYS[1], field)
      pruned = pruned + 1
      if keyed then
        redis.call('ZREM', KEYS[4], field)
        logChange(field)
      end
    end
  end
end
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('DEL', KEYS[2], KEYS[3]) end
return pruned
`;

/**
 * Writes a dispatcher's stats report and indexes it by its expiry, pruning
 * entries that expired a TTL ago (writers' clocks may differ by less than
 * that). The index lives as long as the longest-lived report it lists.
 * KEYS: the report, the index. ARGV: the report, its TTL, the dispatcher id, now.
 */
const PUBLISH_STATS_SCRIPT = `
local ttl = tonumber(ARGV[2])
local now = tonumber(ARGV[4])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
redis.call('ZADD', KEYS[2], now + ttl, ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now - ttl))
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
`;

/**
 * Counts a sharded channel's subscribers on the master that owns its slot: the
 * channel goes as the key, so the cluster client routes the call there.
 * KEYS[1]: the channel.
 */
const SHARDNUMSUB_SCRIPT = `return redis.call('PUBSUB', 'SHARDNUMSUB', KEYS[1])[2]`;

const notOpen = (): never => {
  throw new Error('the transport is not open');
};

export class RedisTransport implements DispatcherTransport {
  readonly clock: Clock = systemClock;
  readonly #redis: string | RedisOptions | Redis | Cluster;
  /** On a Redis Cluster (see protocol's cluster-target.ts): channels are sharded. */
  readonly #sharded: boolean;
  #connections: Connections | undefined;
  /** PUBLISH, or SPUBLISH on a cluster: chosen once at open, as this is the hottest call. */
  #publish: (channel: string, frame: string) => Promise<number> = notOpen;
  /** Sharded channels subscribed (see {@link subscribe}). */
  readonly #shardedChannels = new Set<string>();
  #errors: ConnectionErrors | undefined;
  #names: Names | undefined;
  #parkedKey = '';
  #id = '';
  readonly #commandEpoch = new CommandEpoch();
  #store: DurableStore | undefined;

  /** `redis`: a URL, ioredis options, or the application's client (then only a duplicate subscribes). */
  constructor(redis: string | RedisOptions | Redis | Cluster) {
    this.#redis = redis;
    this.#sharded = isClusterTarget(redis);
  }

  async open(context: TransportContext, events: TransportEvents): Promise<void> {
    this.#names = context.names;
    this.#parkedKey = context.names.parkedKey(context.id);
    this.#id = context.id;
    const name = `ringcast:dispatcher:${context.id}`;
    // No SUBSCRIBE of ioredis's own after a reconnect: ioredis sends it without a rejection
    // handler, so a close in the middle of that handshake failed it as an unhandled rejection
    // ("Connection is closed."), which ends a Node process. The dispatcher subscribes again
    // itself on every 'ready' (dispatcher.ts), and handles what that call rejects with.
    const connections = openIoredisConnections<Redis, RedisOptions>(
      this.#redis,
      name,
      { Redis, Cluster },
      { autoResubscribe: false },
    );
    this.#connections = connections;
    const { command, subscriber } = connections;
    this.#publish = this.#sharded
      ? (channel, frame) => command.spublish(channel, frame) as Promise<number>
      : (channel, frame) => command.publish(channel, frame);
    this.#errors = watchConnections(connections, (error, role) => events.error(error, role));
    command.on('close', () => {
      this.#commandEpoch.dropped();
    });
    command.on('ready', () => {
      if (this.#commandEpoch.everDropped) events.commandRestored();
    });
    if (this.#sharded) {
      subscriber.on('smessage', (channel: string, data: string) => events.message(channel, data));
      // Sharded subscriptions were made again after the slot map changed (a failover, a migration).
      subscriber.on('subscribersReady', () => events.subscriberReady());
    } else {
      subscriber.on('message', (channel: string, data: string) => events.message(channel, data));
    }
    subscriber.on('ready', () => events.subscriberReady());
    await connectBoth(connections);
  }

  describeFailure(error: unknown): { message: string; cause: unknown } {
    return startFailure(error, this.#errors ?? { last: undefined }, this.#redis);
  }

  async subscribe(channels: readonly string[]): Promise<void> {
    const { subscriber } = this.#open();
    if (!this.#sharded) {
      await subscriber.subscribe(...channels);
      return;
    }
    // ioredis keeps each sharded channel and subscribes it again wherever its slot moves
    // (then 'subscribersReady' asks for this call again): a second SSUBSCRIBE would only
    // add it to ioredis's list twice. One SSUBSCRIBE per channel: one call's must share a slot.
    const fresh = channels.filter((channel) => !this.#shardedChannels.has(channel));
    await Promise.all(fresh.map((channel) => subscriber.ssubscribe(channel)));
    for (const channel of fresh) this.#shardedChannels.add(channel);
  }

  publish(channel: string, frame: string): Promise<number> {
    return this.#commandEpoch.publish(this.#publish(channel, frame));
  }

  readRegistry(): Promise<Record<string, string>> {
    // ioredis builds this object safely even for a field named "__proto__".
    return this.#open().command.hgetall(this.#names!.registryKey);
  }

  async readHeartbeats(ids: readonly string[]): Promise<Array<string | null>> {
    if (ids.length === 0) return [];
    const names = this.#names!;
    return this.#open().command.mget(ids.map((id) => names.heartbeatKey(id)));
  }

  async readChanges(since: number, limit: number): Promise<RegistryChanges> {
    const n = this.#names!;
    const reply = await this.#open().command.eval(
      CHANGES_SCRIPT,
      4,
      n.registryVersionKey,
      n.registryChangesKey,
      n.heartbeatDeadlinesKey,
      n.registryKey,
      since,
      limit,
    );
    return parseChanges(reply);
  }

  async readWorkers(
    ids: readonly string[],
  ): Promise<{ entries: Array<string | null>; beats: Array<string | null> }> {
    if (ids.length === 0) return { entries: [], beats: [] };
    const names = this.#names!;
    const results = await this.#open()
      .command.multi()
      .hmget(names.registryKey, ...ids)
      .mget(ids.map((id) => names.heartbeatKey(id)))
      .exec();
    const failed = results?.find(([error]) => error)?.[0];
    if (failed) throw failed;
    return {
      entries: results![0]![1] as Array<string | null>,
      beats: results![1]![1] as Array<string | null>,
    };
  }

  async readWorkerStats(ids: readonly string[]): Promise<Array<string | null>> {
    if (ids.length === 0) return [];
    const names = this.#names!;
    return this.#open().command.mget(ids.map((id) => names.workerStatsKey(id)));
  }

  async publishStats(report: string, ttlMs: number): Promise<void> {
    const names = this.#names!;
    const keys = [names.dispatcherStatsKey(this.#id), names.dispatcherStatsIndexKey];
    const args = [report, ttlMs, this.#id, this.clock.now()];
    await this.#open().command.eval(PUBLISH_STATS_SCRIPT, keys.length, ...keys, ...args);
  }

  async removeStats(): Promise<void> {
    const names = this.#names!;
    const results = await this.#open()
      .command.multi()
      .del(names.dispatcherStatsKey(this.#id))
      .zrem(names.dispatcherStatsIndexKey, this.#id)
      .exec();
    const failed = results?.find(([error]) => error)?.[0];
    if (failed) throw failed;
  }

  async prune(
    entries: ReadonlyArray<{ field: string; entry: string; id: string | undefined }>,
  ): Promise<number> {
    if (entries.length === 0) return 0;
    const names = this.#names!;
    const keys: string[] = [
      names.registryKey,
      names.registryVersionKey,
      names.registryChangesKey,
      names.heartbeatDeadlinesKey,
    ];
    const args: string[] = [];
    for (const { field, entry, id } of entries) {
      keys.push(id === undefined ? names.registryKey : names.heartbeatKey(id));
      args.push(field, entry, id === undefined ? '0' : '1');
    }
    return Number(await this.#open().command.eval(PRUNE_SCRIPT, keys.length, ...keys, ...args));
  }

  async subscriberCounts(channels: readonly string[]): Promise<number[]> {
    if (channels.length === 0) return [];
    const { command } = this.#open();
    if (this.#sharded) {
      // SPUBLISH reaches only the subscribers on the slot's master: count there, per channel.
      return Promise.all(
        channels.map(async (channel) => Number(await command.eval(SHARDNUMSUB_SCRIPT, 1, channel))),
      );
    }
    const counts = (await command.pubsub('NUMSUB', ...channels)) as unknown[];
    return channels.map((_, i) => Number(counts[i * 2 + 1]));
  }

  async takeParked(dispatcherId?: string): Promise<string[]> {
    const key = dispatcherId === undefined ? this.#parkedKey : this.#names!.parkedKey(dispatcherId);
    const [[, frames]] = (await this.#open()
      .command.multi()
      .lrange(key, 0, -1)
      .del(key)
      .exec()) as [[unknown, string[]], unknown];
    return frames;
  }

  durableStore(announce?: SettledAnnouncer, keys?: RecordKeys): DurableStore {
    this.#store ??= new RedisStore(this.#open().command, this.#names!, this.clock, announce, keys);
    return this.#store;
  }

  async close(): Promise<void> {
    if (this.#connections) await closeConnections(this.#connections);
  }

  #open(): Connections {
    if (!this.#connections) throw new Error('the transport is not open');
    return this.#connections;
  }
}
