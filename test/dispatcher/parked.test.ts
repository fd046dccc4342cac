// Replies parked for a dispatcher id are collected by the next dispatcher that starts under it.
import { createDispatcher, type DispatchError, ErrorCode } from '@ringcast/dispatcher';
import { names } from '@ringcast/protocol';
import { createWorker } from '@ringcast/worker';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { redisAvailability, uniqueNamespace, useRedis } from '../support/redis.js';
import { track } from '../support/track.js';
import { eventually, gate } from '../worker/fake-dispatcher.js';

describe.skipIf(!redisAvailability.available)('parked replies', () => {
  const redis = useRedis();

  it("a dispatcher reusing a dead one's id drains its parked replies at start, as stale", async () => {
    const namespace = uniqueNamespace();
    const id = `reused-${Math.random().toString(36).slice(2, 8)}`;
    const release = gate();
    const worker = track(
      createWorker({
        redis: redis.url,
        namespace,
        logger: false,
        // Ignores its signal: it finishes after its dispatcher is gone.
        handlers: { slow: async () => release.promise.then(() => 'late') },
      }),
    );
    const raw = track(new Redis(redis.url));
    const first = track(
      createDispatcher({ redis: redis.url, namespace, id, logger: false, drainTimeoutMs: 0 }),
    );
    const second = track(createDispatcher({ redis: redis.url, namespace, id, logger: false }));
    try {
      await worker.start();
      await first.start();
      const pending = first.dispatch('slow', null).catch((e: unknown) => e);
      await eventually(() => worker.stats().inflight === 1, 5_000, 'the handler to start');
      await first.close();
      expect(((await pending) as DispatchError).code).toBe(ErrorCode.CLOSED);
      release.open();
      // Nobody is subscribed to the id's reply channel now: the worker parks the result.
      await eventually(() => worker.stats().parked === 1, 5_000, 'the reply to be parked');
      const key = names(namespace).parkedKey(id);
      expect(await raw.exists(key)).toBe(1);

      await second.start();
      expect(second.stats()).toMatchObject({ recoveredReplies: 1, staleReplies: 1 });
      expect(await raw.exists(key)).toBe(0);
      expect(second.stats().settled).toEqual({ ok: 0, error: {} });
    } finally {
      await second.close();
      await first.close();
      await worker.close();
      await raw.quit();
    }
  });
});
