/**
 * The Redis store's operations on its owners rather than on single tasks:
 * a dispatcher's heartbeat and registry entry, its leaving, the adoption of a
 * dead one's active tasks, a restarted process taking its own back, and the
 * counts. None is batched: each is its own MULTI or script call, at the pace
 * of the heartbeat or the reconcile round rather than of the tasks.
 */
import { type Clock, isValidId, type Names } from '@ringcast/protocol';
import type { LuaScript } from './lua-script.js';
import { quarantine } from './quarantine.js';
import type { DurableRecord } from './record.js';
import { rawRecords } from './redis-replies.js';
import { ADOPT, LEAVE, RECLAIM } from './redis-scripts-ownership.js';
import { checkAdopt, checkBeat, checkId } from './requests.js';
import type { StoreCounts } from './store.js';

/** The client the store runs on (ioredis's, named through the scripts: the seam allows its types there only). */
type Redis = Parameters<LuaScript['run']>[0];
/** The store itself, for the fenced failure of records that cannot be read (quarantine.ts). */
type QuarantineHost = Parameters<typeof quarantine>[3];

export class RedisOwners {
  readonly #redis: Redis;
  readonly #names: Names;
  readonly #clock: Clock;
  readonly #store: QuarantineHost;

  constructor(redis: Redis, names: Names, clock: Clock, store: QuarantineHost) {
    this.#redis = redis;
    this.#names = names;
    this.#clock = clock;
    this.#store = store;
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

  async beating(id: string): Promise<boolean> {
    return (await this.#redis.exists(this.#names.dispatcherHeartbeatKey(checkId('id', id)))) === 1;
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
    return quarantine(rawRecords(reply), owner, this.#clock.now(), this.#store);
  }

  async reclaim(owner: string): Promise<DurableRecord[]> {
    checkId('owner', owner);
    const names = this.#names;
    const reply = await RECLAIM.run(
      this.#redis,
      [names.activeKey(owner)],
      [owner, names.taskKeyPrefix],
    );
    return quarantine(rawRecords(reply), owner, this.#clock.now(), this.#store);
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
