// The embedded stand-in the demo falls back to: both sides accept an ioredis-mock client.
import { createDispatcher } from '@ringcast/dispatcher';
import { createWorker } from '@ringcast/worker';
import RedisMock from 'ioredis-mock';
import { expect, it } from 'vitest';
import { uniqueNamespace } from './support/redis.js';

it('runs tasks end to end on an ioredis-mock client', async () => {
  const redis = new RedisMock();
  const namespace = uniqueNamespace();
  const worker = createWorker({
    redis,
    namespace,
    handlers: { double: (n) => (n as number) * 2 },
    logger: false,
  });
  const dispatcher = createDispatcher({ redis, namespace, logger: false });
  try {
    await worker.start();
    await dispatcher.start();
    const results = await Promise.all([1, 2, 3].map((n) => dispatcher.dispatch('double', n)));
    expect(results).toEqual([2, 4, 6]);
    expect(dispatcher.workers().map((w) => w.id)).toEqual([worker.id]);
  } finally {
    await dispatcher.close();
    await worker.close();
    redis.disconnect();
  }
});
