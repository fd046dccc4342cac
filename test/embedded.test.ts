// The embedded stand-in the demo falls back to: both sides accept an ioredis-mock client.
import { createDispatcher } from '@ringcast/dispatcher';
import { createWorker } from '@ringcast/worker';
import RedisMock from 'ioredis-mock';
import { expect, it } from 'vitest';
import { uniqueNamespace } from './support/redis.js';

it('runs tasks end to end on an ioredis-mock client, its worker alive past its heartbeat TTL', async () => {
  const redis = new RedisMock();
  const namespace = uniqueNamespace();
  const worker = createWorker({
    redis,
    namespace,
    handlers: { double: (n) => (n as number) * 2 },
    heartbeatIntervalMs: 500,
    heartbeatTtlMs: 1_500,
    logger: false,
  });
  const dispatcher = createDispatcher({ redis, namespace, logger: false });
  try {
    await worker.start();
    await dispatcher.start();
    const results = await Promise.all([1, 2, 3].map((n) => dispatcher.dispatch('double', n)));
    expect(results).toEqual([2, 4, 6]);
    expect(dispatcher.workers().map((w) => w.id)).toEqual([worker.id]);
    // Past its heartbeat TTL (1.5 s here): its beats land on the stand-in too, so it is
    // still counted and still runs tasks. (A beat sent as EVAL inside MULTI, which
    // ioredis-mock lacks, failed every time, and live workers lapsed.)
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(dispatcher.workers().map((w) => w.id)).toEqual([worker.id]);
    expect(await dispatcher.dispatch('double', 21)).toBe(42);
  } finally {
    await dispatcher.close();
    await worker.close();
    redis.disconnect();
  }
});
