/**
 * readClusterView against a real Redis, real `ringcast-worker` processes and a
 * real dispatcher running durable tasks: what the admin CLI and the dashboard
 * read is what the deployment holds.
 */
import { type LiveWorker, readClusterView, readLiveWorker } from '@ringcast/admin';
import { names } from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { useDeployment } from '../support/deployment.js';
import { redisAvailability, uniqueNamespace } from '../support/redis.js';
import { track } from '../support/track.js';
import { eventually } from '../worker/fake-dispatcher.js';

describe.skipIf(!redisAvailability.available)('readClusterView', () => {
  const live = useDeployment();
  const { redis } = live;

  it('lists live workers with their entry, policy weight, heartbeat and stats report; counts stale entries', async () => {
    const namespace = uniqueNamespace();
    const n = names(namespace);
    const client = track(new Redis(redis.url));
    const b = await live.spawnWorker(namespace, { id: 'b-worker', weight: 3, concurrency: 4 });
    const a = await live.spawnWorker(namespace, { id: 'a-worker', concurrency: 2 });
    await client.hset(n.weightsKey, 'b-worker', '7');
    // A dead worker's entry: no heartbeat beside it.
    const dead = JSON.parse((await client.hget(n.registryKey, 'a-worker'))!);
    await client.hset(n.registryKey, 'gone', JSON.stringify({ ...dead, id: 'gone' }));
    await client.hset(n.registryKey, 'junk', '{not json');

    const view = await eventually(async () => {
      const read = await readClusterView(client, namespace);
      return read.workers.every((w) => w.report !== undefined) && read;
    });
    expect(view.namespace).toBe(namespace);
    expect(view.workers.map((w) => w.id)).toEqual(['a-worker', 'b-worker']);
    expect(view.stale).toBe(2);
    const [first, second] = view.workers as [LiveWorker, LiveWorker];
    expect(first.info).toMatchObject({ concurrency: 2, weight: 2, pid: a.pid });
    expect(first.policyWeight).toBeUndefined();
    expect(second.info).toMatchObject({ concurrency: 4, pid: b.pid });
    expect(second.policyWeight).toBe(7);
    for (const w of view.workers) {
      expect(w.heartbeat.incarnation).toBe(w.info.incarnation);
      expect(w.heartbeat.overdue).toBe(0);
      expect(w.heartbeatAgeMs).toBeGreaterThanOrEqual(0);
      expect(w.heartbeatAgeMs).toBeLessThanOrEqual(w.info.heartbeatTtlMs);
      expect(w.report).toMatchObject({ incarnation: w.info.incarnation, inflight: 0 });
      expect(Object.keys(w.report!.handlers)).toEqual(expect.arrayContaining(['echo', 'sleep']));
    }
    expect(view.durable).toEqual({ waiting: 0, delayed: 0, active: 0, owners: [] });

    expect(await readLiveWorker(client, namespace, 'a-worker')).toEqual(first.info);
    expect(await readLiveWorker(client, namespace, 'gone')).toBeUndefined();
    expect(await readLiveWorker(client, namespace, 'nobody')).toBeUndefined();
    await client.quit();
  });

  it('shows in-flight handler runs and the durable backlog: waiting, delayed, active per owner', async () => {
    const namespace = uniqueNamespace();
    const client = track(new Redis(redis.url));
    await live.spawnWorker(namespace, { id: 'only', concurrency: 1, maxQueue: 0 });
    const d = await live.dispatcher(namespace);
    // One task holds the worker's only slot; the next ones wait in Redis.
    const running = await d.submit('sleep', { ms: 60_000 });
    await eventually(async () => (await d.task(running))?.state === 'active');
    await d.submit('echo', 1);
    await d.submit('echo', 2);
    await d.submit('echo', 3, { delayMs: 60_000 });

    const view = await eventually(async () => {
      const read = await readClusterView(client, namespace);
      return read.workers[0]?.report?.inflight === 1 && read.durable.waiting === 2 && read;
    });
    expect(view.durable).toMatchObject({ waiting: 2, delayed: 1, active: 1 });
    expect(view.durable.owners).toEqual([{ id: expect.any(String), live: true, active: 1 }]);
    expect(await d.cancel(running)).toBe(true);
    await client.quit();
  });
});
