/**
 * A beat through a stand-in client (ioredis-mock, as the demo and embedded
 * users run without Redis): it has EVAL but no EVAL inside MULTI or a pipeline,
 * and a beat sent that way failed every time, so live workers lapsed.
 */
import { names } from '@ringcast/protocol';
import RedisMock from 'ioredis-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { type BeatTarget, writeBeat } from './presence-state.js';

const n = names('beat-test');
const clients: Array<{ quit(): Promise<unknown> }> = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.quit()));
});

function target(id: string): BeatTarget {
  return {
    registryKey: n.registryKey,
    registryVersionKey: n.registryVersionKey,
    registryChangesKey: n.registryChangesKey,
    heartbeatDeadlinesKey: n.heartbeatDeadlinesKey,
    weightsKey: n.weightsKey,
    heartbeatKey: n.heartbeatKey(id),
    claimKey: n.claimKey(id),
    id,
    incarnation: 'inc-1',
    entry: JSON.stringify({ id, incarnation: 'inc-1' }),
    ttlMs: 3_000,
  };
}

describe('writeBeat on a stand-in client', () => {
  it('writes the entry, the heartbeat and its deadline, and reads the weight policy', async () => {
    const redis = new RedisMock();
    clients.push(redis);
    const t = target('w1');
    await redis.set(t.claimKey, 'inc-1', 'PX', 3_000);
    expect(await writeBeat(redis, t, 'inc-1')).toBeNull();
    expect(await redis.hget(n.registryKey, 'w1')).toBe(t.entry);
    expect(await redis.get(t.heartbeatKey)).toBe('inc-1');
    // By the stand-in's own clock, as dispatchers on it read it.
    expect(await redis.zscore(n.heartbeatDeadlinesKey, 'w1')).not.toBeNull();
    await redis.hset(n.weightsKey, 'w1', '{"weight":3}');
    expect(await writeBeat(redis, t, 'inc-1')).toBe('{"weight":3}');
    expect(await redis.pttl(t.claimKey)).toBeGreaterThan(2_000);
  });
});
