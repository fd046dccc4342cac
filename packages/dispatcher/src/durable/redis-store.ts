/**
 * The durable store on ioredis: each operation one Lua script (`redis-scripts.ts`)
 * or one MULTI, so each is atomic in Redis. It uses a connection it is given
 * (the dispatcher's command connection) and never closes it. Replies are read
 * as untrusted: a reply of an unexpected shape reads as nothing, and a record
 * that cannot be decoded is counted, never thrown.
 */
import {
  type Clock,
  describeValue,
  ErrorCode,
  isValidId,
  type Names,
  systemClock,
} from '@ringcast/protocol';
import type { Redis } from 'ioredis';
import { DispatchError } from '../errors.js';
import { quarantine, type RawRecord } from './quarantine.js';
import { type DurableRecord, decodeRecord, MalformedRecords, type NewRecord } from './record.js';
import {
  ADD,
  ADOPT,
  CANCEL,
  CLAIM,
  LEAVE,
  RECLAIM,
  RELEASE,
  SETTLE,
  STARTED,
} from './redis-scripts.js';
import {
  addRequest,
  CANCELLED_BEFORE_START,
  checkAdopt,
  checkBeat,
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
  SettleResult,
  StartedResult,
  StoreCounts,
} from './store.js';

const CANCELLED_JSON = errorJson(CANCELLED_BEFORE_START);
const ADD_RESULTS = new Set<string>(['added', 'claimed', 'full', 'exists']);

export class RedisStore implements DurableStore {
  readonly malformed = new MalformedRecords();
  readonly #redis: Redis;
  readonly #names: Names;
  readonly #clock: Clock;

  /** `clock` dates the failure of an adopted record that cannot be read (adopt takes no time). */
  constructor(redis: Redis, names: Names, clock: Clock = systemClock) {
    this.#redis = redis;
    this.#names = names;
    this.#clock = clock;
  }

  async add(record: NewRecord, options: AddOptions): Promise<AddResult> {
    const request = addRequest(this.#names, record, options);
    const names = this.#names;
    const claimed = request.owner !== undefined;
    const active = claimed ? names.activeKey(request.owner!) : request.taskKey;
    const heartbeat = claimed ? names.dispatcherHeartbeatKey(request.owner!) : request.taskKey;
    const args: string[] = [
      request.placement,
      String(request.score),
      request.maxBacklog === undefined ? '' : String(request.maxBacklog),
      request.id,
    ];
    for (const [field, value] of Object.entries(request.fields)) args.push(field, value);
    const reply = await ADD.run(
      this.#redis,
      [request.taskKey, names.backlogKey, names.delayedKey, active, heartbeat],
      args,
    );
    if (typeof reply !== 'string' || !ADD_RESULTS.has(reply)) {
      // Only a script of another version could answer so; what it wrote is unknown.
      throw new DispatchError(
        ErrorCode.REDIS_ERROR,
        `unexpected reply from the add script: ${describeValue(reply)}`,
      );
    }
    return reply as AddResult;
  }

  async claim(owner: string, n: number, now: number): Promise<DurableRecord[]> {
    checkClaim(owner, n, now);
    const names = this.#names;
    const reply = await CLAIM.run(
      this.#redis,
      [
        names.backlogKey,
        names.delayedKey,
        names.activeKey(owner),
        names.dispatcherHeartbeatKey(owner),
      ],
      [owner, String(n), String(now), names.taskKeyPrefix, String(DUE_BATCH)],
    );
    return quarantine(rawRecords(reply), owner, now, this);
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
    const reply = await STARTED.run(
      this.#redis,
      [key],
      [owner, String(attempt), worker, String(now)],
    );
    return reply === 1 ? 'started' : reply === 2 ? 'cancel' : 'fenced';
  }

  async settle(
    id: string,
    owner: string | undefined,
    outcome: Outcome,
    now: number,
  ): Promise<SettleResult> {
    const names = this.#names;
    const request = settleRequest(names, id, owner, outcome, now);
    const active = request.owner === undefined ? request.taskKey : names.activeKey(request.owner);
    const reply = await SETTLE.run(
      this.#redis,
      [request.taskKey, names.backlogKey, names.delayedKey, active],
      [
        id,
        request.owner ?? '',
        request.state,
        request.field ?? '',
        request.value,
        String(now),
        names.settledChannel,
      ],
    );
    if (!Array.isArray(reply)) return { kind: 'unknown' };
    const [kind, hash] = reply as unknown[];
    if (kind === 'settled') return { kind: 'settled' };
    if (kind !== 'stale' && kind !== 'already') return { kind: 'unknown' };
    const record = decodeRecord(hashOf(hash), this.malformed, id);
    return record ? { kind, record } : { kind: 'unknown' };
  }

  async release(id: string, owner: string, now: number): Promise<boolean> {
    const names = this.#names;
    const key = names.taskKey(id);
    const active = names.activeKey(checkId('owner', owner));
    checkNow(now);
    const reply = await RELEASE.run(
      this.#redis,
      [key, names.backlogKey, active],
      [id, owner, String(now), names.settledChannel, CANCELLED_JSON],
    );
    return reply === 1;
  }

  async get(id: string): Promise<DurableRecord | undefined> {
    const hash = await this.#redis.hgetall(this.#names.taskKey(id));
    return decodeRecord(hash, this.malformed, id);
  }

  async cancel(id: string, now: number): Promise<CancelResult> {
    const names = this.#names;
    const key = names.taskKey(id);
    checkNow(now);
    const reply = await CANCEL.run(
      this.#redis,
      [key, names.backlogKey, names.delayedKey],
      [id, String(now), names.settledChannel, CANCELLED_JSON],
    );
    const [kind, owner] = Array.isArray(reply) ? (reply as unknown[]) : [];
    if (kind === 'cancelled' || kind === 'finished') return { kind };
    if (kind === 'requested' && isValidId(owner)) return { kind, owner };
    return { kind: 'unknown' };
  }

  async beat(id: string, entry: string, incarnation: string, ttlMs: number): Promise<void> {
    checkBeat(id, entry, incarnation, ttlMs);
    const names = this.#names;
    const replies = await this.#redis
      .multi()
      .hset(names.dispatchersKey, id, entry)
      .set(names.dispatcherHeartbeatKey(id), incarnation, 'PX', ttlMs)
      .exec();
    // MULTI answers each command's error in its reply instead of rejecting.
    const failed = replies?.find(([error]) => error)?.[0];
    if (failed) throw failed;
  }

  async leave(id: string): Promise<void> {
    const names = this.#names;
    await LEAVE.run(
      this.#redis,
      [names.dispatcherHeartbeatKey(id), names.activeKey(id), names.dispatchersKey],
      [id],
    );
  }

  async deadOwners(): Promise<string[]> {
    const names = this.#names;
    const ids = (await this.#redis.hkeys(names.dispatchersKey)).filter((id) => isValidId(id));
    if (ids.length === 0) return [];
    const beats = await this.#redis.mget(ids.map((id) => names.dispatcherHeartbeatKey(id)));
    return ids.filter((_, i) => beats[i] === null);
  }

  async adopt(dead: string, owner: string): Promise<DurableRecord[]> {
    checkAdopt(dead, owner);
    const names = this.#names;
    const reply = await ADOPT.run(
      this.#redis,
      [
        names.dispatcherHeartbeatKey(dead),
        names.activeKey(dead),
        names.activeKey(owner),
        names.dispatchersKey,
        names.dispatcherHeartbeatKey(owner),
      ],
      [dead, owner, names.taskKeyPrefix],
    );
    return quarantine(rawRecords(reply), owner, this.#clock.now(), this);
  }

  async reclaim(owner: string): Promise<DurableRecord[]> {
    checkId('owner', owner);
    const names = this.#names;
    const reply = await RECLAIM.run(
      this.#redis,
      [names.activeKey(owner)],
      [owner, names.taskKeyPrefix],
    );
    return quarantine(rawRecords(reply), owner, this.#clock.now(), this);
  }

  async activeIds(owner: string): Promise<string[]> {
    checkId('owner', owner);
    const ids = await this.#redis.smembers(this.#names.activeKey(owner));
    return ids.filter((id) => isValidId(id));
  }

  async counts(): Promise<StoreCounts> {
    const names = this.#names;
    const owners = (await this.#redis.hkeys(names.dispatchersKey)).filter((id) => isValidId(id));
    let transaction = this.#redis.multi().zcard(names.backlogKey).zcard(names.delayedKey);
    for (const owner of owners) transaction = transaction.scard(names.activeKey(owner));
    const replies = (await transaction.exec()) ?? [];
    const count = (i: number): number => {
      const value = replies[i]?.[1];
      return typeof value === 'number' ? value : 0;
    };
    const activeByOwner = Object.create(null) as Record<string, number>;
    let active = 0;
    for (const [i, owner] of owners.entries()) {
      activeByOwner[owner] = count(i + 2);
      active += count(i + 2);
    }
    return { waiting: count(0), delayed: count(1), active, activeByOwner };
  }
}

/** A flat HGETALL reply as a hash; non-string items are skipped. */
function hashOf(reply: unknown): Record<string, string> {
  const hash = Object.create(null) as Record<string, string>;
  if (!Array.isArray(reply)) return hash;
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const field: unknown = reply[i];
    const value: unknown = reply[i + 1];
    if (typeof field === 'string' && typeof value === 'string') hash[field] = value;
  }
  return hash;
}

/** `{ { id, HGETALL }, ... }` as raw records; items of another shape are skipped. */
function rawRecords(reply: unknown): RawRecord[] {
  if (!Array.isArray(reply)) return [];
  const raws: RawRecord[] = [];
  for (const item of reply) {
    if (!Array.isArray(item) || typeof item[0] !== 'string') continue;
    raws.push({ id: item[0], hash: hashOf(item[1]) });
  }
  return raws;
}
