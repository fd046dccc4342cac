import type { Clock } from './clock.js';
import { type InFlight, MemoryConnection, type ProcessGate } from './memory-connection.js';
import { MemorySortedSet } from './memory-sorted-set.js';

/**
 * An in-memory model of what ringcast uses of Redis: strings, hashes, lists,
 * sets and sorted sets with TTLs, and pub/sub with PUBLISH receiver counts, over connections that can
 * be dropped, restored and stalled. Time comes from a {@link Clock}, so on a
 * `VirtualClock` a run is deterministic. It backs the in-memory transports that
 * run the real dispatcher and worker cores in unit tests and the simulator; it
 * is a model of Redis's semantics, not a Redis: no persistence, no RESP, no Lua.
 *
 * Timing model: a command is applied, and its reply delivered, one clock turn
 * after it was sent, in the order its connection sent it; a published message
 * reaches each subscribed connection one turn after the PUBLISH was applied, in
 * publish order per connection. A dropped connection loses its subscriptions and
 * every message not yet delivered to it; what becomes of its commands in flight
 * is the drop's {@link InFlight} choice (see memory-connection.ts).
 */
export class MemoryRedis {
  readonly clock: Clock;
  readonly #strings = new Map<string, string>();
  readonly #hashes = new Map<string, Map<string, string>>();
  readonly #lists = new Map<string, string[]>();
  readonly #sets = new Map<string, Set<string>>();
  readonly #sortedSets = new Map<string, MemorySortedSet>();
  /** Every keyspace above: a key lives in at most one of them. */
  readonly #keyspaces: ReadonlyArray<Map<string, unknown>> = [
    this.#strings,
    this.#hashes,
    this.#lists,
    this.#sets,
    this.#sortedSets,
  ];
  readonly #expiry = new Map<string, number>();
  readonly #channels = new Map<string, Set<MemoryConnection>>();
  readonly #connections = new Set<MemoryConnection>();
  /** Commands are not applied before this time (epoch ms): Redis is stalled. */
  #stalledUntil = 0;
  /**
   * Redis's `client-output-buffer-limit pubsub`: a subscriber with more bytes
   * published to it and not yet read is disconnected (see memory-connection.ts).
   */
  pubsubOutputLimit = Number.POSITIVE_INFINITY;
  /** Counters a checker can read: how often each thing happened. */
  readonly counters = {
    commands: 0,
    published: 0,
    delivered: 0,
    lostMessages: 0,
    /** Subscribers disconnected for exceeding {@link pubsubOutputLimit}. */
    cutOff: 0,
  };

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /**
   * Opens a connection; it is ready at once. `gate` is the process it belongs to:
   * replies, messages and events reach that process through it (by default at once).
   */
  connect(name: string, gate?: ProcessGate): MemoryConnection {
    const connection = new MemoryConnection(this, name, gate);
    this.#connections.add(connection);
    return connection;
  }

  /** Stops applying commands for `ms`; they queue and run, in order, afterwards. */
  stall(ms: number): void {
    this.#stalledUntil = Math.max(this.#stalledUntil, this.clock.now() + ms);
  }

  get stalledUntil(): number {
    return this.#stalledUntil;
  }

  /**
   * Redis restarted: every connection drops. With nothing kept (no persistence)
   * all data is gone; `persisted` keeps every write it applied, as AOF with
   * `appendfsync always` does (a command in flight meets its `inFlight` fate).
   */
  restart(inFlight: InFlight = 'lost', persisted = false): void {
    for (const connection of this.#connections) connection.drop(inFlight);
    if (persisted) return;
    for (const keyspace of this.#keyspaces) keyspace.clear();
    this.#expiry.clear();
  }

  /** Every key that exists now (for checkers and tests). */
  keys(): string[] {
    const now = this.clock.now();
    const all = this.#keyspaces.flatMap((keyspace) => [...keyspace.keys()]);
    return all.filter((key) => !this.#expired(key, now));
  }

  /** @internal A connection dropped: it hears nothing until it subscribes again. */
  _forget(connection: MemoryConnection): void {
    for (const subscribers of this.#channels.values()) subscribers.delete(connection);
  }

  /** @internal */
  _closed(connection: MemoryConnection): void {
    this._forget(connection);
    this.#connections.delete(connection);
  }

  // ── commands, applied in order by MemoryConnection ──────────────────────

  /** @internal */
  _publish(channel: string, message: string): number {
    this.counters.published++;
    const subscribers = this.#channels.get(channel);
    if (!subscribers) return 0;
    for (const connection of subscribers) connection._deliver(channel, message);
    return subscribers.size;
  }

  /** @internal */
  _subscribe(connection: MemoryConnection, channels: string[], on: boolean): void {
    for (const channel of channels) {
      let subscribers = this.#channels.get(channel);
      if (on) {
        if (!subscribers) {
          subscribers = new Set();
          this.#channels.set(channel, subscribers);
        }
        subscribers.add(connection);
      } else if (subscribers) {
        subscribers.delete(connection);
        if (subscribers.size === 0) this.#channels.delete(channel);
      }
    }
  }

  numsub(channels: string[]): number[] {
    return channels.map((channel) => this.#channels.get(channel)?.size ?? 0);
  }

  get(key: string): string | null {
    this.#sweep(key);
    return this.#strings.get(key) ?? null;
  }

  /** SET with PX and NX; returns whether it was set. */
  set(key: string, value: string, options: { px?: number; nx?: boolean } = {}): boolean {
    this.#sweep(key);
    if (options.nx && this.#exists(key)) return false;
    this.del([key]);
    this.#strings.set(key, value);
    if (options.px !== undefined) this.#expiry.set(key, this.clock.now() + options.px);
    return true;
  }

  del(keys: string[]): number {
    let n = 0;
    for (const key of keys) {
      this.#sweep(key);
      if (this.#keyspaces.some((keyspace) => keyspace.delete(key))) n++;
      this.#expiry.delete(key);
    }
    return n;
  }

  exists(key: string): boolean {
    this.#sweep(key);
    return this.#exists(key);
  }

  pexpire(key: string, ms: number): boolean {
    this.#sweep(key);
    if (!this.#exists(key)) return false;
    this.#expiry.set(key, this.clock.now() + ms);
    return true;
  }

  pttl(key: string): number {
    this.#sweep(key);
    if (!this.#exists(key)) return -2;
    const at = this.#expiry.get(key);
    return at === undefined ? -1 : at - this.clock.now();
  }

  hset(key: string, field: string, value: string): number {
    const hash = this.#hash(key, true)!;
    const added = hash.has(field) ? 0 : 1;
    hash.set(field, value);
    return added;
  }

  hdel(key: string, fields: string[]): number {
    const hash = this.#hash(key, false);
    if (!hash) return 0;
    let n = 0;
    for (const field of fields) if (hash.delete(field)) n++;
    if (hash.size === 0) this.del([key]);
    return n;
  }

  /** HSET with several fields at once. */
  hmset(key: string, fields: Readonly<Record<string, string>>): void {
    // Redis refuses an HSET without fields; here it simply creates no empty hash.
    if (Object.keys(fields).length === 0) return;
    const hash = this.#hash(key, true)!;
    for (const [field, value] of Object.entries(fields)) hash.set(field, value);
  }

  hget(key: string, field: string): string | null {
    return this.#hash(key, false)?.get(field) ?? null;
  }

  hgetall(key: string): Record<string, string> {
    // A null prototype, as ioredis builds it: a field named "__proto__" is just a field.
    const result = Object.create(null) as Record<string, string>;
    for (const [field, value] of this.#hash(key, false) ?? []) result[field] = value;
    return result;
  }

  hkeys(key: string): string[] {
    return [...(this.#hash(key, false)?.keys() ?? [])];
  }

  hlen(key: string): number {
    return this.#hash(key, false)?.size ?? 0;
  }

  rpush(key: string, values: string[]): number {
    this.#sweep(key);
    let list = this.#lists.get(key);
    if (!list) {
      list = [];
      this.#lists.set(key, list);
    }
    list.push(...values);
    return list.length;
  }

  /** LRANGE with Redis's inclusive, negative-from-the-end indexes. */
  lrange(key: string, start: number, stop: number): string[] {
    this.#sweep(key);
    const list = this.#lists.get(key) ?? [];
    const [from, to] = range(list.length, start, stop);
    return list.slice(from, to + 1);
  }

  ltrim(key: string, start: number, stop: number): void {
    this.#sweep(key);
    const list = this.#lists.get(key);
    if (!list) return;
    const [from, to] = range(list.length, start, stop);
    const kept = list.slice(from, to + 1);
    if (kept.length === 0) this.del([key]);
    else this.#lists.set(key, kept);
  }

  sadd(key: string, members: string[]): number {
    if (members.length === 0) return 0;
    const set = this.#set(key, true)!;
    let n = 0;
    for (const member of members) {
      if (set.has(member)) continue;
      set.add(member);
      n++;
    }
    return n;
  }

  srem(key: string, members: string[]): number {
    const set = this.#set(key, false);
    if (!set) return 0;
    let n = 0;
    for (const member of members) if (set.delete(member)) n++;
    if (set.size === 0) this.del([key]);
    return n;
  }

  sismember(key: string, member: string): boolean {
    return this.#set(key, false)?.has(member) ?? false;
  }

  /** SMEMBERS; in insertion order here, where Redis promises none. */
  smembers(key: string): string[] {
    return [...(this.#set(key, false) ?? [])];
  }

  scard(key: string): number {
    return this.#set(key, false)?.size ?? 0;
  }

  /** ZADD of `[score, member]` pairs; returns how many members are new. */
  zadd(key: string, entries: ReadonlyArray<readonly [number, string]>): number {
    if (entries.length === 0) return 0;
    const zset = this.#sortedSet(key, true)!;
    let n = 0;
    for (const [score, member] of entries) if (zset.add(member, score)) n++;
    return n;
  }

  zrem(key: string, members: string[]): number {
    const zset = this.#sortedSet(key, false);
    if (!zset) return 0;
    let n = 0;
    for (const member of members) if (zset.remove(member)) n++;
    if (zset.size === 0) this.del([key]);
    return n;
  }

  zscore(key: string, member: string): number | null {
    return this.#sortedSet(key, false)?.score(member) ?? null;
  }

  zcard(key: string): number {
    return this.#sortedSet(key, false)?.size ?? 0;
  }

  /**
   * ZRANGEBYSCORE min max [LIMIT offset count]: members, lowest score first; `min`
   * inclusive, or exclusive (`(min`) when `minExclusive`.
   */
  zrangebyscore(
    key: string,
    min: number,
    max: number,
    limit?: { offset: number; count: number },
    minExclusive = false,
  ): string[] {
    const zset = this.#sortedSet(key, false);
    if (!zset) return [];
    return zset
      .rangeByScore(min, max, limit?.offset, limit?.count, minExclusive)
      .map(([member]) => member);
  }

  /** ZPOPMIN key count: `[member, score]` pairs, lowest score first. */
  zpopmin(key: string, count = 1): Array<[string, number]> {
    const zset = this.#sortedSet(key, false);
    if (!zset) return [];
    const popped = zset.popMin(count);
    if (zset.size === 0) this.del([key]);
    return popped;
  }

  #hash(key: string, create: boolean): Map<string, string> | undefined {
    this.#sweep(key);
    let hash = this.#hashes.get(key);
    if (!hash && create) {
      hash = new Map();
      this.#hashes.set(key, hash);
    }
    return hash;
  }

  #set(key: string, create: boolean): Set<string> | undefined {
    this.#sweep(key);
    let set = this.#sets.get(key);
    if (!set && create) {
      set = new Set();
      this.#sets.set(key, set);
    }
    return set;
  }

  #sortedSet(key: string, create: boolean): MemorySortedSet | undefined {
    this.#sweep(key);
    let zset = this.#sortedSets.get(key);
    if (!zset && create) {
      zset = new MemorySortedSet();
      this.#sortedSets.set(key, zset);
    }
    return zset;
  }

  #exists(key: string): boolean {
    return this.#keyspaces.some((keyspace) => keyspace.has(key));
  }

  #expired(key: string, now: number): boolean {
    const at = this.#expiry.get(key);
    return at !== undefined && at <= now;
  }

  /** Removes `key` if its TTL ran out: Redis expires keys lazily too, as far as a client can tell. */
  #sweep(key: string): void {
    if (this.#expired(key, this.clock.now())) {
      this.#expiry.delete(key);
      for (const keyspace of this.#keyspaces) keyspace.delete(key);
    }
  }
}

function range(length: number, start: number, stop: number): [number, number] {
  const from = Math.max(0, start < 0 ? length + start : start);
  const to = Math.min(length - 1, stop < 0 ? length + stop : stop);
  return [from, to];
}
