// A logger that throws loses its line, never the work that was being logged.
import { createDispatcher } from '@ringcast/dispatcher';
import { createWorker } from '@ringcast/worker';
import { describe, expect, it } from 'vitest';
import { redisAvailability, uniqueNamespace, useRedis } from './support/redis.js';
import { track } from './support/track.js';
import { eventually } from './worker/fake-dispatcher.js';

const throwing = {
  info(): void {
    throw new Error('logger broke (info)');
  },
  warn(): void {
    throw new Error('logger broke (warn)');
  },
  error(): void {
    throw new Error('logger broke (error)');
  },
};

describe.skipIf(!redisAvailability.available)('a logger that throws', () => {
  const redis = useRedis();

  it('breaks no start, no redelivery after a worker leaves, no close', async () => {
    const namespace = uniqueNamespace();
    const handlers = { echo: async (p: unknown) => p };
    const first = track(createWorker({ redis: redis.url, namespace, handlers, logger: throwing }));
    const second = track(createWorker({ redis: redis.url, namespace, handlers, logger: throwing }));
    const dispatcher = track(
      createDispatcher({ redis: redis.url, namespace, logger: throwing, reconcileIntervalMs: 50 }),
    );
    try {
      // Each start logs a line when it succeeds.
      await first.start();
      await dispatcher.start();
      await eventually(() => dispatcher.workers().length === 1, 5_000, 'the first worker');
      expect(await dispatcher.dispatch('echo', 1)).toBe(1);

      // The dispatcher logs when a worker goes and when one joins; its tasks must still move.
      await second.start();
      await eventually(() => dispatcher.workers().length === 2, 5_000, 'the second worker');
      await first.close();
      await eventually(() => dispatcher.workers().length === 1, 5_000, 'the first to be gone');
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => dispatcher.dispatch('echo', i)),
      );
      expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i));
    } finally {
      await dispatcher.close();
      await second.close();
      await first.close();
    }
  });
});
