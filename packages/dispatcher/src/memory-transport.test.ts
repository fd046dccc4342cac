/** The in-memory transport's own operations. */
import { MemoryRedis, VirtualClock } from '@ringcast/protocol';
import { describe, expect, it } from 'vitest';
import { MemoryTransport } from './memory-transport.js';
import { n } from './testing/core-fixture.js';
import { MAYBE_HEARD } from './transport.js';

describe('MemoryTransport', () => {
  it('prunes only entries still as read whose heartbeat is still absent', async () => {
    const clock = new VirtualClock();
    const redis = new MemoryRedis(clock);
    const transport = new MemoryTransport(redis);
    const events = {
      message() {},
      subscriberReady() {},
      commandRestored() {},
      error() {},
    };
    await transport.open({ id: 'd', names: n }, events);
    redis.hset(n.registryKey, 'gone', 'E1');
    redis.hset(n.registryKey, 'back', 'E2');
    redis.set(n.heartbeatKey('back'), 'inc');
    redis.hset(n.registryKey, 'rewritten', 'new');
    redis.hset(n.registryKey, 'bad id!', '{}');
    const pruned = transport.prune([
      { field: 'gone', entry: 'E1', id: 'gone' },
      { field: 'back', entry: 'E2', id: 'back' },
      { field: 'rewritten', entry: 'old', id: 'rewritten' },
      { field: 'bad id!', entry: '{}', id: undefined },
    ]);
    await clock.advance(0);
    expect(await pruned).toBe(2);
    expect(Object.keys(redis.hgetall(n.registryKey)).sort()).toEqual(['back', 'rewritten']);
    await transport.close();
  });

  it('answers MAYBE_HEARD for a publish in flight when the command connection drops', async () => {
    const clock = new VirtualClock();
    const redis = new MemoryRedis(clock);
    const transport = new MemoryTransport(redis);
    const events = {
      message() {},
      subscriberReady() {},
      commandRestored() {},
      error() {},
    };
    await transport.open({ id: 'd', names: n }, events);
    const heard = transport.publish('x', 'frame');
    transport.command!.drop('applied');
    expect(await heard).toBe(MAYBE_HEARD);
    transport.command!.restore();
    const unheard = transport.publish('x', 'frame');
    await clock.advance(0);
    expect(await unheard).toBe(0);
    await transport.close();
  });
});
