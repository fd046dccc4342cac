// Durable tasks end to end: real `ringcast-worker` processes on a private,
// real redis-server; one dispatcher submits, another reads every outcome.
import { fileURLToPath } from 'node:url';
import { createDispatcher, type Dispatcher } from '@ringcast/dispatcher';
import { names } from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { privateRedisAvailable, uniqueNamespace, usePrivateRedis } from '../support/redis.js';
import { track } from '../support/track.js';
import { spawnWorker, type WorkerProcess } from '../support/workers.js';

const HANDLERS = fileURLToPath(new URL('../fixtures/ring-handlers.js', import.meta.url));

describe.skipIf(!privateRedisAvailable)('durable tasks against real workers', () => {
  const redis = usePrivateRedis();
  const workers: WorkerProcess[] = [];

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill()));
  });

  async function dispatcher(namespace: string): Promise<Dispatcher> {
    // Their stats reports lapse 3 s after the last settle, so the keys can return to baseline.
    const d = track(
      createDispatcher({ redis: redis.url, namespace, logger: false, statsTtlMs: 3_000 }),
    );
    await d.start();
    return d;
  }

  async function keys(client: Redis, namespace: string): Promise<string[]> {
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 1000);
      cursor = next;
      for (const key of batch) found.add(key);
    } while (cursor !== '0');
    return [...found].sort();
  }

  it('500 tasks submitted by one dispatcher, every outcome read with result() by another; keys return to baseline', async () => {
    const namespace = uniqueNamespace();
    const n = names(namespace);
    const client = track(new Redis(redis.url));
    for (let i = 0; i < 2; i++) {
      workers.push(
        await spawnWorker({ url: redis.url, namespace, handlers: HANDLERS, concurrency: 8 }),
      );
    }
    const submitter = await dispatcher(namespace);
    const reader = await dispatcher(namespace);
    const until = Date.now() + 10_000;
    while (submitter.workers().filter((w) => w.healthy).length < 2 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const baseline = await keys(client, namespace);

    // Long enough that the reader finds every outcome on a loaded machine (submitting 500
    // one by one and reading them can take longer than a short TTL), short enough to wait out.
    const resultTtlMs = 8_000;
    const ids: string[] = [];
    for (let i = 0; i < 500; i++) {
      ids.push(await submitter.submit('echo', { i }, { resultTtlMs, priority: i % 3 }));
    }
    expect(new Set(ids).size).toBe(500);
    const results = await Promise.all(ids.map((id) => reader.result(id, { timeoutMs: 30_000 })));
    expect(results).toEqual(ids.map((_, i) => ({ i })));
    const info = await reader.task(ids[0]!);
    expect(info?.state).toBe('succeeded');
    expect(info?.attempts).toBe(1);
    expect(await client.zcard(n.backlogKey)).toBe(0);

    // Finished records expire after resultTtlMs, the dispatchers' stats reports after
    // statsTtlMs; every index is cleaned.
    const deadline = Date.now() + resultTtlMs + 10_000;
    let now = await keys(client, namespace);
    while (now.length !== baseline.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      now = await keys(client, namespace);
    }
    expect(now).toEqual(baseline);
    expect(await reader.task(ids[0]!)).toBeUndefined();
    await submitter.close();
    await reader.close();
    await client.quit();
  }, 90_000);

  it("durable dispatch() from three dispatchers into one backlog: each call gets its own task's value, each task run once, whoever claims it", async () => {
    const namespace = uniqueNamespace();
    const client = track(new Redis(redis.url));
    for (let i = 0; i < 2; i++) {
      workers.push(
        await spawnWorker({ url: redis.url, namespace, handlers: HANDLERS, concurrency: 4 }),
      );
    }
    const dispatchers = [
      await dispatcher(namespace),
      await dispatcher(namespace),
      await dispatcher(namespace),
    ];
    const until = Date.now() + 10_000;
    while (
      dispatchers.some((d) => d.workers().filter((w) => w.healthy).length < 2) &&
      Date.now() < until
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // 16 worker slots for 600 calls: most wait in the backlog, and each dispatcher claims its
    // own tasks (from the copy it keeps) and the others' (read back) alike.
    const calls = dispatchers.flatMap((d, k) =>
      Array.from({ length: 200 }, (_, i) =>
        d.dispatch('echo', { k, i, pad: 'x'.repeat(100) }, { durable: true }),
      ),
    );
    const values = await Promise.all(calls);
    expect(values).toEqual(
      dispatchers.flatMap((_, k) =>
        Array.from({ length: 200 }, (_, i) => ({ k, i, pad: 'x'.repeat(100) })),
      ),
    );
    const stats = dispatchers.map((d) => d.stats().durable);
    expect(stats.reduce((sum, s) => sum + s.claimed, 0)).toBe(600);
    expect(stats.every((s) => s.staleSettles === 0 && s.lateWrites === 0 && s.dropped === 0)).toBe(
      true,
    );
    // More than one dispatcher drew from the backlog.
    expect(stats.filter((s) => s.claimed > 0).length).toBeGreaterThan(1);
    for (const d of dispatchers) await d.close();
    await client.quit();
  }, 60_000);
});
