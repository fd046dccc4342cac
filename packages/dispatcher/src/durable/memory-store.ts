/**
 * The durable store on protocol's in-memory Redis model, for unit tests and the
 * simulator. Each operation is one `command(...)` of a `MemoryConnection`, so
 * it is applied in one step, as its Lua script is on Redis
 * (`redis-scripts-*.ts`), and step for step the same; the contract suite holds
 * the two to one behaviour. The operations on owners rather than tasks are
 * {@link MemoryOwners}'.
 */
import {
  BACKLOG_PRIORITY_STEP,
  backlogScore,
  type Clock,
  isValidId,
  isValidPriority,
  type MemoryConnection,
  type MemoryRedis,
  type Names,
} from '@ringcast/protocol';
import { MemoryOwners } from './memory-owners.js';
import { quarantine, type RawRecord } from './quarantine.js';
import {
  DEFAULT_RESULT_TTL_MS,
  type DurableRecord,
  type NewRecord,
  type TerminalState,
} from './record.js';
import { decodeRecord, MalformedRecords } from './record-decode.js';
import { NO_RECORD_KEYS, type RecordKeys } from './record-seal.js';
import { SPEC_FIELD, specHead } from './record-spec.js';
import {
  addRequest,
  CANCELLED_BEFORE_START,
  checkClaim,
  checkId,
  checkNow,
  checkStarted,
  DUE_BATCH,
  errorJson,
  settleRequest,
} from './requests.js';
import type {
  AddOptions,
  AddResult,
  CancelResult,
  DurableStore,
  Outcome,
  SettledAnnouncer,
  SettleResult,
  StartedResult,
  StoreCounts,
} from './store.js';
import { peekOf, type TaskPeek } from './task-peek.js';

const CANCELLED_JSON = errorJson(CANCELLED_BEFORE_START);

/** What the settle step found, before the TypeScript side decodes the record. */
interface SettleReply {
  kind: SettleResult['kind'];
  hash?: Record<string, string>;
}

export class MemoryStore implements DurableStore {
  readonly malformed = new MalformedRecords();
  /** What sealed fields are sealed and opened with. */
  readonly keys: RecordKeys;
  readonly #connection: MemoryConnection;
  readonly #names: Names;
  /** The operations on owners (heartbeat, leave, adopt, reclaim, counts). */
  readonly #owners: MemoryOwners;

  readonly #announce: SettledAnnouncer | undefined;

  /**
   * `clock` dates the failure of an adopted record that cannot be read (adopt
   * takes no time). With `announce`, settled ids go to it once each step
   * returns, and nothing is published in the step (as redis-store.ts).
   */
  constructor(
    connection: MemoryConnection,
    names: Names,
    clock: Clock,
    announce?: SettledAnnouncer,
    keys: RecordKeys = NO_RECORD_KEYS,
  ) {
    this.keys = keys;
    this.#connection = connection;
    this.#names = names;
    this.#announce = announce;
    this.#owners = new MemoryOwners(connection, names, clock, this);
  }

  async add(record: NewRecord, options: AddOptions): Promise<AddResult> {
    const request = addRequest(this.#names, record, options, this.keys);
    const names = this.#names;
    return this.#connection.command((redis): AddResult => {
      if (redis.exists(request.taskKey)) return 'exists';
      // An owner whose heartbeat lapsed must not take it (nobody would adopt it): it waits.
      const ownerLapsed =
        request.placement === 'claimed' &&
        !redis.exists(names.dispatcherHeartbeatKey(request.owner!));
      const placement = ownerLapsed ? 'waiting' : request.placement;
      if (placement !== 'claimed' && request.maxBacklog !== undefined) {
        const waiting = redis.zcard(names.backlogKey) + redis.zcard(names.delayedKey);
        if (waiting >= request.maxBacklog) return 'full';
      }
      redis.hmset(request.taskKey, request.fields);
      if (placement === 'claimed') {
        redis.sadd(names.activeKey(request.owner!), [request.id]);
        return 'claimed';
      }
      if (ownerLapsed) {
        redis.hset(request.taskKey, 'state', 'waiting');
        redis.hdel(request.taskKey, ['owner']);
      }
      const index = placement === 'delayed' ? names.delayedKey : names.backlogKey;
      redis.zadd(index, [[request.score, request.id]]);
      return 'added';
    });
  }

  /** Reads every claimed record whole: `known` is an optimisation of the Redis store's. */
  async claim(owner: string, n: number, now: number): Promise<DurableRecord[]> {
    checkClaim(owner, n, now);
    const names = this.#names;
    const raws = await this.#connection.command((redis) => {
      // Tasks an owner whose heartbeat lapsed took now would be adopted by nobody.
      if (!redis.exists(names.dispatcherHeartbeatKey(owner))) return [];
      const due = redis.zrangebyscore(names.delayedKey, Number.NEGATIVE_INFINITY, now, {
        offset: 0,
        count: DUE_BATCH,
      });
      for (const id of due) {
        redis.zrem(names.delayedKey, [id]);
        if (!isValidId(id)) continue;
        const key = names.taskKey(id);
        if (redis.hget(key, 'state') !== 'delayed') continue;
        redis.hset(key, 'state', 'waiting');
        redis.zadd(names.backlogKey, [[storedScore(redis, key), id]]);
      }
      const claimed: RawRecord[] = [];
      while (claimed.length < n) {
        const popped = redis.zpopmin(names.backlogKey, n - claimed.length);
        if (popped.length === 0) break;
        for (const [id] of popped) {
          if (!isValidId(id)) continue;
          const key = names.taskKey(id);
          if (redis.hget(key, 'state') !== 'waiting') continue;
          redis.hmset(key, { state: 'active', owner });
          redis.sadd(names.activeKey(owner), [id]);
          claimed.push({ id, hash: redis.hgetall(key) });
        }
      }
      return claimed;
    });
    return quarantine(raws, owner, now, this);
  }

  async started(
    id: string,
    owner: string,
    attempt: number,
    worker: string,
    now: number,
  ): Promise<StartedResult> {
    const key = this.#names.taskKey(id);
    checkStarted(owner, attempt, worker, now);
    return this.#connection.command((redis) => {
      if (redis.hget(key, 'state') !== 'active' || redis.hget(key, 'owner') !== owner) {
        return 'fenced';
      }
      redis.hmset(key, { attempts: String(attempt), worker });
      if (redis.hget(key, 'startedAt') === null) redis.hset(key, 'startedAt', String(now));
      return redis.hget(key, 'cancel') === '1' ? 'cancel' : 'started';
    });
  }

  async settle(
    id: string,
    owner: string | undefined,
    outcome: Outcome,
    now: number,
  ): Promise<SettleResult> {
    const request = settleRequest(this.#names, id, owner, outcome, now, this.keys);
    const names = this.#names;
    const key = request.taskKey;
    const reply = await this.#connection.command((redis): SettleReply => {
      const state = redis.hget(key, 'state');
      if (state === null) return { kind: 'unknown' };
      if (isTerminalText(state)) return { kind: 'already', hash: redis.hgetall(key) };
      if (state === 'active') {
        if (owner === undefined || redis.hget(key, 'owner') !== owner) {
          return { kind: 'stale', hash: redis.hgetall(key) };
        }
        redis.srem(names.activeKey(owner), [id]);
      } else if (state === 'waiting' || state === 'delayed') {
        if (owner !== undefined) return { kind: 'stale', hash: redis.hgetall(key) };
        redis.zrem(names.backlogKey, [id]);
        redis.zrem(names.delayedKey, [id]);
      } else {
        return { kind: 'unknown' };
      }
      this.#finish(redis, id, request.state, request.field, request.value, now);
      return { kind: 'settled' };
    });
    if (reply.kind === 'settled') this.#announce?.(id);
    if (reply.kind === 'settled' || reply.kind === 'unknown') return { kind: reply.kind };
    const record = decodeRecord(reply.hash ?? {}, this.malformed, id, this.keys);
    return record ? { kind: reply.kind, record } : { kind: 'unknown' };
  }

  async release(id: string, owner: string, now: number): Promise<boolean> {
    const names = this.#names;
    const key = names.taskKey(id);
    const active = names.activeKey(checkId('owner', owner));
    checkNow(now);
    const released = await this.#connection.command((redis) => {
      if (redis.hget(key, 'state') !== 'active' || redis.hget(key, 'owner') !== owner) return 0;
      redis.srem(active, [id]);
      if (redis.hget(key, 'cancel') === '1') {
        this.#finish(redis, id, 'cancelled', 'error', CANCELLED_JSON, now);
        return 2;
      }
      redis.hset(key, 'state', 'waiting');
      redis.hdel(key, ['owner']);
      redis.zadd(names.backlogKey, [[storedScore(redis, key), id]]);
      return 1;
    });
    if (released === 2) this.#announce?.(id);
    return released > 0;
  }

  async get(id: string): Promise<DurableRecord | undefined> {
    const key = this.#names.taskKey(id);
    const hash = await this.#connection.command((redis) => redis.hgetall(key));
    return decodeRecord(hash, this.malformed, id, this.keys);
  }

  async peek(id: string): Promise<TaskPeek | undefined> {
    const key = this.#names.taskKey(id);
    const [state, expiresAt] = await this.#connection.command((redis) => {
      const spec = redis.hget(key, SPEC_FIELD);
      if (spec === null) return [redis.hget(key, 'state'), redis.hget(key, 'expiresAt')];
      const expires = specHead(spec)?.[3];
      return [
        redis.hget(key, 'state'),
        expires === undefined || expires === 'null' ? null : expires,
      ];
    });
    return peekOf(state, expiresAt);
  }

  async cancel(id: string, now: number): Promise<CancelResult> {
    const names = this.#names;
    const key = names.taskKey(id);
    checkNow(now);
    const result = await this.#connection.command((redis): CancelResult => {
      const state = redis.hget(key, 'state');
      if (state === 'waiting' || state === 'delayed') {
        redis.zrem(names.backlogKey, [id]);
        redis.zrem(names.delayedKey, [id]);
        this.#finish(redis, id, 'cancelled', 'error', CANCELLED_JSON, now);
        return { kind: 'cancelled' };
      }
      const owner = redis.hget(key, 'owner');
      if (state === 'active' && isValidId(owner)) {
        redis.hset(key, 'cancel', '1');
        return { kind: 'requested', owner };
      }
      if (state !== null && isTerminalText(state)) return { kind: 'finished' };
      return { kind: 'unknown' };
    });
    if (result.kind === 'cancelled') this.#announce?.(id);
    return result;
  }

  beat(id: string, entry: string, incarnation: string, ttlMs: number): Promise<void> {
    return this.#owners.beat(id, entry, incarnation, ttlMs);
  }

  leave(id: string): Promise<void> {
    return this.#owners.leave(id);
  }

  deadOwners(): Promise<string[]> {
    return this.#owners.deadOwners();
  }

  beating(id: string): Promise<boolean> {
    return this.#owners.beating(id);
  }

  adopt(dead: string, owner: string): Promise<DurableRecord[]> {
    return this.#owners.adopt(dead, owner);
  }

  reclaim(owner: string): Promise<DurableRecord[]> {
    return this.#owners.reclaim(owner);
  }

  activeIds(owner: string): Promise<string[]> {
    return this.#owners.activeIds(owner);
  }

  counts(): Promise<StoreCounts> {
    return this.#owners.counts();
  }

  /** The terminal write, as the scripts' `finish`: outcome, kept for its TTL, announced. */
  #finish(
    redis: MemoryRedis,
    id: string,
    state: TerminalState,
    field: 'result' | 'error' | undefined,
    value: string,
    now: number,
  ): void {
    const key = this.#names.taskKey(id);
    redis.hmset(key, { state, finishedAt: String(now) });
    if (field !== undefined) redis.hset(key, field, value);
    // The owner field stays, as the scripts' finish leaves it: a reader ignores a finished task's.
    const spec = redis.hget(key, SPEC_FIELD);
    const ttl = storedInteger(
      spec === null ? redis.hget(key, 'resultTtlMs') : (specHead(spec)?.[2] ?? null),
    );
    redis.pexpire(key, ttl !== undefined && ttl >= 1 ? ttl : DEFAULT_RESULT_TTL_MS);
    // In the same step as the write, as the script publishes: a waiter that
    // subscribed and then reads the record either finds it finished or hears of it.
    // (Announced by the caller instead, the id comes a step later: the poll is the net.)
    if (this.#announce === undefined) redis._publish(this.#names.settledChannel, id);
  }
}

function isTerminalText(state: string): boolean {
  return state === 'succeeded' || state === 'failed' || state === 'cancelled';
}

/** A stored integer as the scripts' `int` reads one, or undefined. */
function storedInteger(value: string | null): number | undefined {
  if (value === null || value.length > 17 || !/^-?\d+$/.test(value)) return undefined;
  return Number(value);
}

/** The backlog score of a stored task, as the scripts' `backlog_score` computes it. */
function storedScore(redis: MemoryRedis, key: string): number {
  const spec = redis.hget(key, SPEC_FIELD);
  const head = specHead(spec);
  const priority = storedInteger(spec === null ? redis.hget(key, 'priority') : (head?.[0] ?? null));
  const createdAt = storedInteger(
    spec === null ? redis.hget(key, 'createdAt') : (head?.[1] ?? null),
  );
  return backlogScore(
    priority !== undefined && isValidPriority(priority) ? priority : 0,
    createdAt !== undefined && createdAt >= 0 && createdAt < BACKLOG_PRIORITY_STEP ? createdAt : 0,
  );
}
