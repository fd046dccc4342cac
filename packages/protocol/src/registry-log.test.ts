/** The registry's change log on the in-memory model (registry-log.ts); the Lua twins run on a real Redis in test/liveness. */
import { describe, expect, it } from 'vitest';
import { names } from './channels.js';
import { MemoryRedis } from './memory-redis.js';
import {
  CHANGE_LOG_SLACK,
  memoryBeat,
  memoryChanges,
  memoryLeave,
  memoryPruned,
  type RegistryLogKeys,
} from './registry-log.js';
import { VirtualClock } from './virtual-clock.js';

const n = names('t');
const keys = (id: string): RegistryLogKeys => ({ ...n, heartbeatKey: n.heartbeatKey(id) });

function model() {
  const clock = new VirtualClock(1_000_000);
  return { clock, redis: new MemoryRedis(clock) };
}

describe('the registry change log (memory model)', () => {
  it('logs a change when the entry or the heartbeat value differs, not for a beat like the last', () => {
    const { clock, redis } = model();
    memoryBeat(redis, keys('a'), 'a', '{"v":1}', 'inc', 3_000);
    const first = memoryChanges(redis, n, 0, 100);
    // Change numbers start from the time in µs: a log that starts again stays above.
    expect(first).toMatchObject({ seq: clock.now() * 1000, changed: ['a'] });
    let seen = first.seq;
    memoryBeat(redis, keys('a'), 'a', '{"v":1}', 'inc', 3_000);
    expect(memoryChanges(redis, n, seen, 100)).toMatchObject({ seq: seen, changed: [] });
    // A stall that ended is no news; a blocked loop is.
    memoryBeat(redis, keys('a'), 'a', '{"v":1}', 'inc;s=400', 3_000);
    expect(memoryChanges(redis, n, seen, 100)).toMatchObject({ seq: seen, changed: [] });
    memoryBeat(redis, keys('a'), 'a', '{"v":1}', 'inc;b=1200', 3_000);
    expect(memoryChanges(redis, n, seen, 100)).toMatchObject({ seq: seen + 1, changed: ['a'] });
    seen++;
    memoryBeat(redis, keys('a'), 'a', '{"v":2}', 'inc;b=1200', 3_000);
    expect(memoryChanges(redis, n, seen, 100)).toMatchObject({ seq: seen + 1, changed: ['a'] });
    memoryBeat(redis, keys('b'), 'b', '{"v":1}', 'inc', 3_000);
    seen += 2;
    memoryLeave(redis, keys('a'), 'a');
    expect(memoryChanges(redis, n, seen, 100)).toMatchObject({ seq: seen + 1, changed: ['a'] });
    expect(redis.hget(n.registryKey, 'a')).toBeNull();
    // The last worker leaves: the log goes with it, and the namespace keeps no key.
    memoryLeave(redis, keys('b'), 'b');
    expect(memoryChanges(redis, n, seen + 1, 100)).toMatchObject({
      seq: 0,
      changed: [],
      expired: [],
      nextDeadline: undefined,
    });
    expect(redis.keys()).toEqual([]);
  });

  it('reads the policy beside the beat', () => {
    const { redis } = model();
    redis.hset(n.weightsKey, 'a', '5');
    expect(memoryBeat(redis, keys('a'), 'a', '{}', 'inc', 3_000)).toBe('5');
  });

  it('lists deadlines that passed, and the next one', async () => {
    const { clock, redis } = model();
    memoryBeat(redis, keys('a'), 'a', '{}', 'a1', 1_000);
    memoryBeat(redis, keys('b'), 'b', '{}', 'b1', 3_000);
    expect(memoryChanges(redis, n, 0, 100)).toMatchObject({
      expired: [],
      nextDeadline: 1_001_000,
      now: 1_000_000,
    });
    await clock.advance(1_000);
    // a's lapse, not pruned yet, is listed, and does not hide the next deadline ahead.
    expect(memoryChanges(redis, n, 0, 100)).toMatchObject({
      expired: ['a'],
      nextDeadline: 1_003_000,
    });
    // The prune takes it out, and logs the change so that every dispatcher hears of it.
    const seen = memoryChanges(redis, n, 0, 100).seq;
    memoryPruned(redis, n, 'a');
    const after = memoryChanges(redis, n, seen, 100);
    expect(after.seq).toBeGreaterThan(seen);
    expect(after).toMatchObject({
      changed: ['a'],
      expired: [],
      nextDeadline: 1_003_000,
    });
  });

  it('stays as small as the registry: trimmed past the slack, its floor raised', () => {
    const { redis } = model();
    memoryBeat(redis, keys('live'), 'live', '{}', 'inc', 3_000);
    const gone = CHANGE_LOG_SLACK + 10;
    for (let i = 0; i < gone; i++) {
      memoryBeat(redis, keys(`w${i}`), `w${i}`, '{}', 'inc', 3_000);
      memoryLeave(redis, keys(`w${i}`), `w${i}`);
    }
    const read = memoryChanges(redis, n, 0, 1_000);
    expect(redis.zcard(n.registryChangesKey)).toBe(1 + CHANGE_LOG_SLACK);
    // The oldest changes went: a reader that saw less than the floor must read everything.
    expect(read.floor).toBeGreaterThan(0);
    expect(read.changed).toHaveLength(1 + CHANGE_LOG_SLACK);
    expect(read.changed).not.toContain('live');
  });
});
