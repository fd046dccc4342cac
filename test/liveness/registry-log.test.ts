// The registry's change log and heartbeat deadlines (protocol registry-log.ts) on a real
// redis-server: the worker's beat, register and leave scripts, the dispatcher's tick and
// prune, answer as their in-memory twins do, and the dispatcher learns of a change (a
// join, a blocked loop, a death) without re-reading the registry.
import { createDispatcher } from '@ringcast/dispatcher';
import { RedisTransport } from '@ringcast/dispatcher/internal';
import {
  BEAT_SCRIPT,
  beatKeys,
  CHANGES_SCRIPT,
  LEAVE_SCRIPT,
  names,
  parseChanges,
  type RegistryLogKeys,
} from '@ringcast/protocol';
import { createWorker } from '@ringcast/worker';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { redisAvailability, uniqueNamespace, useRedis } from '../support/redis.js';
import { track } from '../support/track.js';
import { eventually } from '../worker/fake-dispatcher.js';

describe.skipIf(!redisAvailability.available)('the registry change log on Redis', () => {
  const redis = useRedis();

  it('beat, leave and tick scripts: a change logged only when something differs, deadlines by Redis time', async () => {
    const n = names(uniqueNamespace());
    const raw = track(new Redis(redis.url));
    const keys = (id: string): RegistryLogKeys => ({ ...n, heartbeatKey: n.heartbeatKey(id) });
    const beat = (id: string, entry: string, value: string, ttl: number) => {
      const k = beatKeys(keys(id));
      return raw.eval(BEAT_SCRIPT, k.length, ...k, id, entry, value, ttl);
    };
    const tick = async (since: number) =>
      parseChanges(
        await raw.eval(
          CHANGES_SCRIPT,
          4,
          n.registryVersionKey,
          n.registryChangesKey,
          n.heartbeatDeadlinesKey,
          n.registryKey,
          since,
          100,
        ),
      );
    await beat('a', '{"v":1}', 'inc', 1_000);
    await beat('b', '{"v":1}', 'inc', 60_000);
    let read = await tick(0);
    expect(read).toMatchObject({ floor: 0, expired: [] });
    expect(read.changed.sort()).toEqual(['a', 'b']);
    const time = (await raw.time()) as unknown as [string, string];
    const redisNow = Number(time[0]) * 1000;
    expect(Math.abs(read.now - redisNow)).toBeLessThan(2_000);
    // Change numbers count up from Redis's time in µs: a log that starts again stays above.
    expect(read.seq).toBeGreaterThanOrEqual((redisNow - 2_000) * 1000);
    expect(read.nextDeadline! - read.now).toBeGreaterThan(0);
    expect(read.nextDeadline! - read.now).toBeLessThanOrEqual(1_000);
    let seen = read.seq;
    // The same beat again: no change, only the deadline moves.
    await beat('b', '{"v":1}', 'inc', 60_000);
    expect(await tick(seen)).toMatchObject({ seq: seen, changed: [] });
    // A stall that ended is no news; a blocked loop is.
    await beat('b', '{"v":1}', 'inc;s=400', 60_000);
    expect(await tick(seen)).toMatchObject({ seq: seen, changed: [] });
    await beat('b', '{"v":1}', 'inc;b=1200', 60_000);
    read = await tick(seen);
    expect(read.changed).toEqual(['b']);
    expect(read.seq).toBeGreaterThan(seen);
    seen = read.seq;
    // a's heartbeat lapses: its deadline is listed, and its key is gone with it.
    await eventually(async () => (await tick(seen)).expired.includes('a'), 5_000, 'a lapsed');
    expect(await raw.get(n.heartbeatKey('a'))).toBeNull();
    // Its lapse, not pruned yet, does not hide the next deadline ahead: b's.
    read = await tick(seen);
    expect(read.nextDeadline).toBe(Number(await raw.zscore(n.heartbeatDeadlinesKey, 'b')));
    expect(read.nextDeadline!).toBeGreaterThan(read.now);
    const leave = beatKeys(keys('b'));
    await raw.eval(LEAVE_SCRIPT, leave.length, ...leave, 'b');
    read = await tick(seen);
    expect(read.changed).toEqual(['b']);
    seen = read.seq;
    expect(await raw.hget(n.registryKey, 'b')).toBeNull();
    expect(await raw.zscore(n.heartbeatDeadlinesKey, 'b')).toBeNull();
    // The prune removes a lapsed worker's entry and deadline, and logs it; with the
    // last worker gone, the log goes too and the namespace keeps no key.
    const transport = new RedisTransport(redis.url);
    await transport.open(
      { id: 'pruner', names: n },
      { message() {}, subscriberReady() {}, commandRestored() {}, error() {} },
    );
    const entry = (await raw.hget(n.registryKey, 'a'))!;
    expect(await transport.prune([{ field: 'a', entry, id: 'a' }])).toBe(1);
    expect(await raw.keys(`${n.namespace}:*`)).toEqual([]);
    // A dispatcher that saw `seen` finds the number went back: it reads everything.
    expect(await transport.readChanges(seen, 100)).toMatchObject({ seq: 0, changed: [] });
    await transport.close();
    await raw.quit();
  });

  it('a dispatcher learns of a join and a leave from the log, with no full read', async () => {
    const namespace = uniqueNamespace();
    const n = names(namespace);
    const raw = track(new Redis(redis.url));
    const start = async (id: string) => {
      const w = track(
        createWorker({
          redis: redis.url,
          namespace,
          id,
          handlers: { echo: (p) => p },
          logger: false,
          heartbeatIntervalMs: 100,
          heartbeatTtlMs: 400,
        }),
      );
      await w.start();
      return w;
    };
    const first = await start('first');
    const d = track(
      createDispatcher({
        redis: redis.url,
        namespace,
        logger: false,
        reconcileIntervalMs: 100,
        fullReconcileIntervalMs: 600_000,
      }),
    );
    await d.start();
    expect(d.workers().map((w) => w.id)).toEqual(['first']);
    const second = await start('second');
    await eventually(() => d.workers().length === 2, 2_000, 'the join seen');
    // A death: its heartbeat stops (the worker's connections cut), its deadline passes.
    const seq = Number(await raw.hget(n.registryVersionKey, 'seq'));
    expect(seq).toBeGreaterThanOrEqual(2);
    await second.close();
    await eventually(() => d.workers().length === 1, 2_000, 'the leave seen');
    expect(await d.dispatch('echo', 'ok')).toBe('ok');
    await d.close();
    await first.close();
    await raw.quit();
  });
});
