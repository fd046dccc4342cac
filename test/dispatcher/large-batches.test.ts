import { createDispatcher, type Dispatcher } from '@ringcast/dispatcher';
import { MAX_BATCH } from '@ringcast/protocol';
import { createWorker, type Handler, type Worker } from '@ringcast/worker';
import { describe, expect, it } from 'vitest';
import { redisAvailability, uniqueNamespace, useRedis } from '../support/redis.js';
import { track } from '../support/track.js';
import { eventually, gate } from '../worker/fake-dispatcher.js';

/** More than two frames' worth: the decoder refuses a frame of more than MAX_BATCH messages whole. */
const COUNT = 25_000;

describe.skipIf(!redisAvailability.available)('more than MAX_BATCH messages in one turn', () => {
  const redis = useRedis();

  async function pair(
    handler: Handler,
  ): Promise<{ dispatcher: Dispatcher; worker: Worker; close(): Promise<void> }> {
    const namespace = uniqueNamespace();
    // Room for every task at once on both sides, so nothing is refused BUSY or QUEUE_FULL.
    const worker = track(
      createWorker({
        redis: redis.url,
        namespace,
        id: 'big',
        handlers: { work: handler },
        concurrency: COUNT,
        maxQueue: COUNT,
        logger: false,
      }),
    );
    await worker.start();
    const dispatcher = track(
      createDispatcher({
        redis: redis.url,
        namespace,
        timeoutMs: 30_000,
        ackTimeoutMs: 20_000,
        maxQueued: COUNT,
        logger: false,
      }),
    );
    await dispatcher.start();
    await eventually(() => dispatcher.workers().some((w) => w.healthy));
    return {
      dispatcher,
      worker,
      close: async () => {
        await dispatcher.close();
        await worker.close();
      },
    };
  }

  it(`delivers ${COUNT} tasks dispatched to one worker in one turn`, async () => {
    expect(COUNT).toBeGreaterThan(2 * MAX_BATCH);
    const { dispatcher, worker, close } = await pair((payload) => payload);
    const results = await Promise.allSettled(
      Array.from({ length: COUNT }, (_, i) => dispatcher.dispatch('work', i)),
    );
    const failures = results.filter((r) => r.status === 'rejected');
    expect(failures.slice(0, 3)).toEqual([]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : undefined))).toEqual(
      Array.from({ length: COUNT }, (_, i) => i),
    );
    expect(worker.stats().succeeded).toBe(COUNT);
    await close();
  }, 90_000);

  it(`delivers ${COUNT} results a worker sends in one turn`, async () => {
    const release = gate();
    const { dispatcher, worker, close } = await pair(async (payload) => {
      await release.promise;
      return payload;
    });
    // Sent over several turns, so only the replies travel in one turn.
    const pending: Array<Promise<unknown>> = [];
    for (let i = 0; i < COUNT; i++) {
      pending.push(dispatcher.dispatch('work', i));
      if (i % 1_000 === 999) await new Promise((resolve) => setImmediate(resolve));
    }
    await eventually(() => worker.stats().inflight === COUNT, 30_000, 'every task running');
    // Every handler resolves in this turn, so every result is queued in it.
    release.open();
    const results = await Promise.allSettled(pending);
    const failures = results.filter((r) => r.status === 'rejected');
    expect(failures.slice(0, 3)).toEqual([]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : undefined))).toEqual(
      Array.from({ length: COUNT }, (_, i) => i),
    );
    await close();
  }, 90_000);
});
