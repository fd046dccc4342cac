/**
 * `ringcast reweight` and `ringcast drain` taking effect on real
 * `ringcast-worker` processes: the worker obeys the frames on its own channel
 * and reads the operator's weight policy at every heartbeat. That worker side
 * lives on its own branch (wip/control); these tests pass once it is merged.
 */
import { names, parseHeartbeat } from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ringcastIn } from '../support/admin-cli.js';
import { useDeployment } from '../support/deployment.js';
import { redisAvailability, uniqueNamespace } from '../support/redis.js';
import { track } from '../support/track.js';
import { eventually } from '../worker/fake-dispatcher.js';

describe.skipIf(!redisAvailability.available)('ringcast reweight and drain on live workers', () => {
  const live = useDeployment();
  const { redis } = live;
  const ringcast = (namespace: string, ...args: string[]) =>
    ringcastIn(redis.url, namespace, ...args);

  /** The weight in worker `id`'s registry entry. */
  async function registeredWeight(client: Redis, namespace: string, id: string) {
    const entry = await client.hget(names(namespace).registryKey, id);
    return entry === null ? undefined : (JSON.parse(entry) as { weight: number }).weight;
  }

  /** Resolves once worker `id` has written its heartbeat `times` more times. */
  async function heartbeats(client: Redis, namespace: string, id: string, times: number) {
    const key = names(namespace).heartbeatKey(id);
    for (let i = 0; i < times; i++) {
      const before = await client.pttl(key);
      await eventually(async () => (await client.pttl(key)) > before, 10_000, 'a heartbeat');
    }
    expect(parseHeartbeat(await client.get(key))).toBeDefined();
  }

  it('reweight: the registry and a dispatcher show the new weight, which outlives heartbeats; --reset restores it', async () => {
    const namespace = uniqueNamespace();
    const client = track(new Redis(redis.url));
    await live.spawnWorker(namespace, { id: 'w-1', weight: 2 });
    await live.spawnWorker(namespace, { id: 'w-2', weight: 2 });
    const d = await live.dispatcher(namespace);

    const run = await ringcast(namespace, 'reweight', 'w-1', '7');
    expect(run).toEqual({ code: 0, stdout: 'worker w-1: weight 7 (was 2)\n', stderr: '' });
    expect(await registeredWeight(client, namespace, 'w-1')).toBe(7);
    await eventually(() => d.workers().find((w) => w.id === 'w-1')?.weight === 7, 5_000);
    // The worker keeps the operator's weight through its heartbeats.
    await heartbeats(client, namespace, 'w-1', 2);
    expect(await registeredWeight(client, namespace, 'w-1')).toBe(7);
    const rows = JSON.parse((await ringcast(namespace, 'workers', '--json')).stdout);
    expect(rows).toEqual([
      expect.objectContaining({ id: 'w-1', weight: 7, policyWeight: 7 }),
      expect.objectContaining({ id: 'w-2', weight: 2, policyWeight: null }),
    ]);

    const json = await ringcast(namespace, 'reweight', 'w-2', '3', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ id: 'w-2', weight: 3, previous: 2 });

    expect((await ringcast(namespace, 'reweight', 'w-1', '--reset')).code).toBe(0);
    await eventually(async () => (await registeredWeight(client, namespace, 'w-1')) === 2, 10_000);
    await eventually(() => d.workers().find((w) => w.id === 'w-1')?.weight === 2, 5_000);
    await client.quit();
  });

  it('drain: the worker leaves gracefully, its process exits 0, and every task it had settles', async () => {
    const namespace = uniqueNamespace();
    const client = track(new Redis(redis.url));
    const drained = await live.spawnWorker(namespace, { id: 'w-1', concurrency: 4 });
    await live.spawnWorker(namespace, { id: 'w-2', concurrency: 4 });
    const d = await live.dispatcher(namespace);
    const tasks = Array.from({ length: 24 }, (_, i) => d.dispatch('sleep', { ms: 200, value: i }));

    const run = await ringcast(namespace, 'drain', 'w-1', '--timeout', '20000');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^worker w-1 drained: it left after .+\n$/);
    expect(await client.hget(names(namespace).registryKey, 'w-1')).toBeNull();
    expect(await drained.exited).toEqual({ code: 0, signal: null });
    expect(await Promise.all(tasks)).toEqual(Array.from({ length: 24 }, (_, i) => i));

    const rows = JSON.parse((await ringcast(namespace, 'workers', '--json')).stdout);
    expect(rows.map((r: { id: string }) => r.id)).toEqual(['w-2']);
    await client.quit();
  }, 60_000);
});
