/**
 * The registry's change log and its heartbeat deadlines: what lets a dispatcher
 * watch a fleet at a cost that grows with changes, not with workers × time.
 *
 * Beside the registry hash (`registryKey`) and each worker's heartbeat key, three
 * keys, all in the namespace (so in one slot with the registry on a cluster):
 *
 * | key | type | holds |
 * |-----|------|-------|
 * | `registryVersionKey` | hash | `seq`: bumped by every change; `floor`: changes at or below it were trimmed from the log |
 * | `registryChangesKey` | sorted set | worker id → the `seq` of its last change |
 * | `heartbeatDeadlinesKey` | sorted set | worker id → when its heartbeat lapses (Redis's clock, epoch ms) |
 *
 * A *change* is anything a dispatcher must re-read a worker for: its registry
 * entry was written with other content, removed, or its heartbeat's value
 * differs from the last one (a new incarnation, a blocked loop, overdue slots),
 * or it appeared again after a lapse. A stall that ended (`s=`) is no change:
 * a loaded worker reports one with nearly every beat, and a dispatcher reads it
 * fresh when an ack is late (dispatcher liveness.ts), not from its view. A worker that merely stays alive rewrites
 * the same entry and value: no change, only its deadline moves. So a
 * dispatcher's tick asks for the ids changed since the `seq` it last saw and the
 * ids whose deadline passed: both O(log n + answers), nothing per live worker.
 *
 * Writers (the worker's beat and leave, the dispatcher's prune) do their part in
 * the same Lua script as the write, with times from Redis's own clock (`TIME`),
 * so deadlines of workers on skewed machines compare right. The in-memory model
 * gets the same operations here (`memory*`), applied inside one command.
 *
 * The log stays as small as the fleet: the dispatcher's tick trims it to the
 * registry's size plus {@link CHANGE_LOG_SLACK} and raises `floor`, and it goes
 * with the last worker (a namespace without workers keeps no key). A dispatcher
 * whose last `seq` is below `floor` (or above `seq`: the log went, or Redis
 * restarted empty) may have missed changes and re-reads everything. So does its
 * periodic full reconcile, the safety net for anything this log could miss.
 * Change numbers are never below Redis's time in µs, so a log that starts again
 * counts up from above every number a dispatcher saw before.
 */
import type { MemoryRedis } from './memory-redis.js';

/** Entries the change log keeps beyond one per registered worker, before it is trimmed. */
export const CHANGE_LOG_SLACK = 100;

/**
 * The next change number into `seq`, as a string (Lua would print a number
 * this large with 14 digits), stored in the version hash `KEYS[3]`.
 */
const NEXT_SEQ = `local seq = string.format('%.0f', math.max((tonumber(redis.call('HGET', KEYS[3], 'seq')) or 0) + 1, now * 1000))
redis.call('HSET', KEYS[3], 'seq', seq)`;

/** Redis's clock in a script, epoch ms. */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * Records a change of worker ARGV[1] in the log (needs {@link NOW}). KEYS[3]:
 * version, KEYS[4]: changes. A new number is above the last and never below
 * Redis's time in µs, so the log that starts again after it went (with the last
 * worker, or a Redis that restarted empty) only counts up from what any
 * dispatcher saw before.
 */
const LOG_CHANGE = `${NEXT_SEQ}
redis.call('ZADD', KEYS[4], seq, ARGV[1])`;

/**
 * With the last worker gone the log goes too (KEYS[1]: registry, KEYS[3]:
 * version, KEYS[4]: changes), so a namespace without workers leaves no key.
 */
const FORGET_IF_EMPTY = `if redis.call('HLEN', KEYS[1]) == 0 then redis.call('DEL', KEYS[3], KEYS[4]) end`;

/**
 * A worker's beat (and its registration): its entry, its heartbeat with a TTL,
 * its deadline, a change logged if either differs from what was stored. (The
 * operator's weight policy is read by a command sent with it, not in it: a
 * script's keys need write access under ACL, and a worker only reads the policy.)
 * KEYS: registry, heartbeat, version, changes, deadlines.
 * ARGV: id, entry, heartbeat value, TTL ms.
 */
export const BEAT_SCRIPT = `${NOW}
local changed = redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2]
if changed then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
local old = redis.call('GET', KEYS[2])
if not old or string.gsub(old, ';s=%d+', '') ~= string.gsub(ARGV[3], ';s=%d+', '') then changed = true end
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
redis.call('ZADD', KEYS[5], now + tonumber(ARGV[4]), ARGV[1])
if changed then ${LOG_CHANGE} end
`;

/**
 * A worker leaves: its entry, heartbeat and deadline go, and the change is logged.
 * KEYS: registry, heartbeat, version, changes, deadlines. ARGV: id.
 */
export const LEAVE_SCRIPT = `${NOW}
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[5], ARGV[1])
${LOG_CHANGE}
${FORGET_IF_EMPTY}
`;

/**
 * A dispatcher's tick: the log's `seq` and `floor`, Redis's time, the ids changed
 * since ARGV[1] and those whose deadline passed (at most ARGV[2] of each), and the
 * next deadline; trims the log first. KEYS: version, changes, deadlines, registry.
 * Returns [seq, floor, now, changed ids, expired ids, next deadline ahead or false].
 */
export const CHANGES_SCRIPT = `${NOW}
local excess = redis.call('ZCARD', KEYS[2]) - redis.call('HLEN', KEYS[4]) - ${CHANGE_LOG_SLACK}
if excess > 0 then
  local cut = redis.call('ZRANGE', KEYS[2], excess - 1, excess - 1, 'WITHSCORES')
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, excess - 1)
  redis.call('HSET', KEYS[1], 'floor', cut[2])
end
local v = redis.call('HMGET', KEYS[1], 'seq', 'floor')
local seq = tonumber(v[1]) or 0
local last = tonumber(ARGV[1])
local changed = {}
if seq > last then
  changed = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf', 'LIMIT', 0, ARGV[2])
end
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, ARGV[2])
local first = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. now, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
return {seq, tonumber(v[2]) or 0, now, changed, expired, first[2] or false}
`;

/** What a dispatcher's tick reads of the log (see {@link CHANGES_SCRIPT}). */
export interface RegistryChanges {
  /** The log's sequence number now (0: no change was ever logged, or Redis restarted empty). */
  seq: number;
  /** Changes at or below this were trimmed from the log. */
  floor: number;
  /** Redis's clock, epoch ms. */
  now: number;
  /** Ids changed since the `seq` asked about (at most `limit`). */
  changed: string[];
  /** Ids whose heartbeat deadline has passed (at most `limit`). */
  expired: string[];
  /**
   * The earliest deadline still ahead (Redis's clock), if any: the wake for the next
   * death. Lapsed deadlines are in `expired` until pruned, and would hide it.
   */
  nextDeadline: number | undefined;
}

/** The keys of {@link BEAT_SCRIPT} and {@link LEAVE_SCRIPT}; the policy's for the model. */
export interface RegistryLogKeys {
  registryKey: string;
  heartbeatKey: string;
  registryVersionKey: string;
  registryChangesKey: string;
  heartbeatDeadlinesKey: string;
  weightsKey: string;
}

/** {@link BEAT_SCRIPT}'s and {@link LEAVE_SCRIPT}'s KEYS, in order. */
export function beatKeys(k: RegistryLogKeys): string[] {
  return [
    k.registryKey,
    k.heartbeatKey,
    k.registryVersionKey,
    k.registryChangesKey,
    k.heartbeatDeadlinesKey,
  ];
}

/** Reads {@link CHANGES_SCRIPT}'s reply. */
export function parseChanges(reply: unknown): RegistryChanges {
  const [seq, floor, now, changed, expired, next] = reply as [
    number,
    number,
    number,
    string[],
    string[],
    string | null,
  ];
  const nextDeadline = next === null || next === undefined ? undefined : Number(next);
  return {
    seq: Number(seq),
    floor: Number(floor),
    now: Number(now),
    changed: [...changed],
    expired: [...expired],
    nextDeadline: Number.isFinite(nextDeadline) ? nextDeadline : undefined,
  };
}

// ── the same operations on the in-memory model ──

/** Logs a change of worker `id` on the model (what every writer does after its write). */
export function memoryLogChange(
  redis: MemoryRedis,
  k: Pick<RegistryLogKeys, 'registryVersionKey' | 'registryChangesKey'>,
  id: string,
): void {
  const seq = Math.max(
    Number(redis.hget(k.registryVersionKey, 'seq') ?? '0') + 1,
    redis.clock.now() * 1000,
  );
  redis.hset(k.registryVersionKey, 'seq', String(seq));
  redis.zadd(k.registryChangesKey, [[seq, id]]);
}

/** {@link BEAT_SCRIPT} on the model, with the policy read beside it; returns the policy. */
export function memoryBeat(
  redis: MemoryRedis,
  k: RegistryLogKeys,
  id: string,
  entry: string,
  value: string,
  ttlMs: number,
): string | null {
  let changed = redis.hget(k.registryKey, id) !== entry;
  if (changed) redis.hset(k.registryKey, id, entry);
  const old = redis.get(k.heartbeatKey);
  if (old === null || withoutStall(old) !== withoutStall(value)) changed = true;
  redis.set(k.heartbeatKey, value, { px: ttlMs });
  redis.zadd(k.heartbeatDeadlinesKey, [[redis.clock.now() + ttlMs, id]]);
  if (changed) memoryLogChange(redis, k, id);
  return redis.hget(k.weightsKey, id);
}

/** A heartbeat value without its last stall (`s=`), which is no change. */
function withoutStall(value: string): string {
  return value.replace(/;s=\d+/g, '');
}

/** {@link LEAVE_SCRIPT} on the model. */
export function memoryLeave(redis: MemoryRedis, k: RegistryLogKeys, id: string): void {
  redis.hdel(k.registryKey, [id]);
  redis.del([k.heartbeatKey]);
  redis.zrem(k.heartbeatDeadlinesKey, [id]);
  memoryLogChange(redis, k, id);
  memoryForgetIfEmpty(redis, k);
}

/** With the last worker gone the log goes too (see {@link LEAVE_SCRIPT}). */
export function memoryForgetIfEmpty(
  redis: MemoryRedis,
  k: Pick<RegistryLogKeys, 'registryKey' | 'registryVersionKey' | 'registryChangesKey'>,
): void {
  if (redis.hlen(k.registryKey) === 0) redis.del([k.registryVersionKey, k.registryChangesKey]);
}

/** {@link CHANGES_SCRIPT} on the model. */
export function memoryChanges(
  redis: MemoryRedis,
  k: Pick<
    RegistryLogKeys,
    'registryKey' | 'registryVersionKey' | 'registryChangesKey' | 'heartbeatDeadlinesKey'
  >,
  since: number,
  limit: number,
): RegistryChanges {
  const now = redis.clock.now();
  const excess = redis.zcard(k.registryChangesKey) - redis.hlen(k.registryKey) - CHANGE_LOG_SLACK;
  if (excess > 0) {
    const cut = redis.zrangebyscore(
      k.registryChangesKey,
      Number.NEGATIVE_INFINITY,
      Number.POSITIVE_INFINITY,
      { offset: 0, count: excess },
    );
    const floor = redis.zscore(k.registryChangesKey, cut[cut.length - 1]!)!;
    redis.zrem(k.registryChangesKey, cut);
    redis.hset(k.registryVersionKey, 'floor', String(floor));
  }
  const seq = Number(redis.hget(k.registryVersionKey, 'seq') ?? '0');
  const floor = Number(redis.hget(k.registryVersionKey, 'floor') ?? '0');
  const changed =
    seq > since
      ? redis.zrangebyscore(k.registryChangesKey, since + 1, Number.POSITIVE_INFINITY, {
          offset: 0,
          count: limit,
        })
      : [];
  const expired = redis.zrangebyscore(k.heartbeatDeadlinesKey, Number.NEGATIVE_INFINITY, now, {
    offset: 0,
    count: limit,
  });
  const [first] = redis.zrangebyscore(
    k.heartbeatDeadlinesKey,
    now,
    Number.POSITIVE_INFINITY,
    { offset: 0, count: 1 },
    true,
  );
  const nextDeadline =
    first === undefined ? undefined : (redis.zscore(k.heartbeatDeadlinesKey, first) ?? undefined);
  return { seq, floor, now, changed, expired, nextDeadline };
}

/**
 * The prune's bookkeeping for one worker whose entry it deleted, or whose
 * deadline it found orphaned: the deadline goes, and the change is logged so
 * that every other dispatcher drops the worker too.
 */
export function memoryPruned(
  redis: MemoryRedis,
  k: Pick<RegistryLogKeys, 'registryVersionKey' | 'registryChangesKey' | 'heartbeatDeadlinesKey'>,
  id: string,
): void {
  redis.zrem(k.heartbeatDeadlinesKey, [id]);
  memoryLogChange(redis, k, id);
}
