// Priorities and delays of non-durable tasks, against a real ringcast-worker on a private redis-server.
import { fileURLToPath } from 'node:url';
import { createDispatcher, type Dispatcher } from '@ringcast/dispatcher';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisAvailability, uniqueNamespace, useRedis } from '../support/redis.js';
import { track } from '../support/track.js';
import { spawnWorker, type WorkerProcess } from '../support/workers.js';

const HANDLERS = fileURLToPath(new URL('../fixtures/handlers.js', import.meta.url));

async function untilWorker(d: Dispatcher, id: string): Promise<void> {
  const until = Date.now() + 15_000;
  while (!d.workers().some((w) => w.id === id && w.healthy)) {
    if (Date.now() > until) throw new Error(`expected worker ${id}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(!redisAvailability.available)('priorities and delays with a real worker', () => {
  const redis = useRedis();
  const ns = uniqueNamespace();
  let worker: WorkerProcess;
  let d: Dispatcher;

  beforeAll(async () => {
    // One slot, no queue on the worker: everything else waits in the dispatcher's queue.
    worker = await spawnWorker({
      url: redis.url,
      namespace: ns,
      id: 'solo',
      handlers: HANDLERS,
      concurrency: 1,
      maxQueue: 0,
    });
    d = track(createDispatcher({ redis: redis.url, namespace: ns, logger: false }));
    await d.start();
    await untilWorker(d, 'solo');
  });

  afterAll(async () => {
    await d.close();
    await worker.kill();
  });

  it('runs queued tasks highest priority first, oldest first within a priority', async () => {
    const finished: string[] = [];
    const run = (name: string, priority?: number) =>
      d
        .dispatch('sleep', { ms: 30, value: name }, priority === undefined ? {} : { priority })
        .then((value) => finished.push(value as string));
    const all = [
      run('blocker'),
      run('low', -1),
      run('normal-1'),
      run('urgent-1', 10),
      run('normal-2'),
      run('urgent-2', 10),
    ];
    await Promise.all(all);
    expect(finished).toEqual(['blocker', 'urgent-1', 'urgent-2', 'normal-1', 'normal-2', 'low']);
  });

  it('sends a delayed task no earlier than its delay, and its timeout counts from when it is due', async () => {
    const started = Date.now();
    const value = await d.dispatch(
      'sleep',
      { ms: 100, value: 'late' },
      { delayMs: 400, timeoutMs: 300 },
    );
    expect(value).toBe('late');
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(d.stats().delayed).toBe(0);
  });
});
