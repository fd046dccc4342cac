/**
 * The in-memory store's operations on its owners rather than on single tasks,
 * each one step of the model as its counterpart in `redis-owners.ts` is one
 * call: a dispatcher's heartbeat and registry entry, its leaving, the adoption
 * of a dead one's active tasks, a restarted process taking its own back, and
 * the counts.
 */
import { type Clock, isValidId, type MemoryConnection, type Names } from '@ringcast/protocol';
import { quarantine, type RawRecord } from './quarantine.js';
import type { DurableRecord } from './record.js';
import { checkAdopt, checkBeat, checkId } from './requests.js';
import type { StoreCounts } from './store.js';

/** The store itself, for the fenced failure of records that cannot be read (quarantine.ts). */
type QuarantineHost = Parameters<typeof quarantine>[3];

export class MemoryOwners {
  readonly #connection: MemoryConnection;
  readonly #names: Names;
  readonly #clock: Clock;
  readonly #store: QuarantineHost;

  constructor(connection: MemoryConnection, names: Names, clock: Clock, store: QuarantineHost) {
    this.#connection = connection;
    this.#names = names;
    this.#clock = clock;
    this.#store = store;
  }

  async beat(id: string, entry: string, incarnation: string, ttlMs: number): Promise<void> {
    checkBeat(id, entry, incarnation, ttlMs);
    const names = this.#names;
    await this.#connection.command((redis) => {
      redis.hset(names.dispatchersKey, id, entry);
      redis.set(names.dispatcherHeartbeatKey(id), incarnation, { px: ttlMs });
    });
  }

  async leave(id: string): Promise<void> {
    const names = this.#names;
    const heartbeat = names.dispatcherHeartbeatKey(id);
    const active = names.activeKey(id);
    await this.#connection.command((redis) => {
      redis.del([heartbeat]);
      if (redis.scard(active) === 0) redis.hdel(names.dispatchersKey, [id]);
    });
  }

  async beating(id: string): Promise<boolean> {
    const heartbeat = this.#names.dispatcherHeartbeatKey(checkId('id', id));
    return this.#connection.command((redis) => redis.exists(heartbeat));
  }

  async deadOwners(): Promise<string[]> {
    const names = this.#names;
    return this.#connection.command((redis) =>
      redis
        .hkeys(names.dispatchersKey)
        .filter((id) => isValidId(id) && !redis.exists(names.dispatcherHeartbeatKey(id))),
    );
  }

  async adopt(dead: string, owner: string): Promise<DurableRecord[]> {
    checkAdopt(dead, owner);
    const names = this.#names;
    const raws = await this.#connection.command((redis) => {
      if (redis.exists(names.dispatcherHeartbeatKey(dead))) return [];
      // An adopter whose heartbeat lapsed may have been adopted itself: it takes nothing.
      if (!redis.exists(names.dispatcherHeartbeatKey(owner))) return [];
      const adopted: RawRecord[] = [];
      const mine = names.activeKey(owner);
      for (const id of redis.smembers(names.activeKey(dead))) {
        if (!isValidId(id)) continue;
        const key = names.taskKey(id);
        if (redis.hget(key, 'state') !== 'active' || redis.hget(key, 'owner') !== dead) continue;
        redis.hset(key, 'owner', owner);
        redis.sadd(mine, [id]);
        adopted.push({ id, hash: redis.hgetall(key) });
      }
      redis.del([names.activeKey(dead)]);
      redis.hdel(names.dispatchersKey, [dead]);
      return adopted;
    });
    return quarantine(raws, owner, this.#clock.now(), this.#store);
  }

  async reclaim(owner: string): Promise<DurableRecord[]> {
    checkId('owner', owner);
    const names = this.#names;
    const raws = await this.#connection.command((redis) => {
      const mine: RawRecord[] = [];
      const active = names.activeKey(owner);
      for (const id of redis.smembers(active)) {
        const key = isValidId(id) ? names.taskKey(id) : undefined;
        if (key && redis.hget(key, 'state') === 'active' && redis.hget(key, 'owner') === owner) {
          mine.push({ id, hash: redis.hgetall(key) });
        } else {
          redis.srem(active, [id]);
        }
      }
      return mine;
    });
    return quarantine(raws, owner, this.#clock.now(), this.#store);
  }

  async activeIds(owner: string): Promise<string[]> {
    checkId('owner', owner);
    const active = this.#names.activeKey(owner);
    return this.#connection.command((redis) =>
      redis.smembers(active).filter((id) => isValidId(id)),
    );
  }

  async counts(): Promise<StoreCounts> {
    const names = this.#names;
    return this.#connection.command((redis) => {
      const activeByOwner = Object.create(null) as Record<string, number>;
      let active = 0;
      for (const owner of redis.hkeys(names.dispatchersKey)) {
        if (!isValidId(owner)) continue;
        activeByOwner[owner] = redis.scard(names.activeKey(owner));
        active += activeByOwner[owner];
      }
      return {
        waiting: redis.zcard(names.backlogKey),
        delayed: redis.zcard(names.delayedKey),
        active,
        activeByOwner,
      };
    });
  }
}
