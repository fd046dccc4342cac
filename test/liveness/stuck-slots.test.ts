// A handler that ignores its signal keeps its slot past its task's deadline
// (issue 13, defect 10): the worker reports such slots, and dispatchers stop
// counting them as capacity, so later tasks go to a worker that can run them.
import { createDispatcher, DispatchError } from '@ringcast/dispatcher';
import { createWorker, type Logger, type Worker } from '@ringcast/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { redisAvailability, uniqueNamespace, useRedis } from '../support/redis.js';
import { track } from '../support/track.js';
import { eventually } from '../worker/fake-dispatcher.js';

describe.skipIf(!redisAvailability.available)('slots held past their deadline', () => {
  const redis = useRedis();
  const workers: Worker[] = [];

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.close()));
  });

  function logger(lines: string[]): Logger {
    return {
      info() {},
      warn: (line: string) => void lines.push(line),
      error: (line: string) => void lines.push(line),
    };
  }

  async function startWorker(options: Parameters<typeof createWorker>[0]): Promise<Worker> {
    const worker = track(
      createWorker({
        redis: redis.url,
        logger: false,
        heartbeatIntervalMs: 100,
        heartbeatTtlMs: 500,
        // The stuck handlers never finish: do not wait long for them at close.
        drainTimeoutMs: 100,
        ...options,
      }),
    );
    workers.push(worker);
    await worker.start();
    return worker;
  }

  it('counts stuck slots against the worker: later tasks go elsewhere and succeed', async () => {
    const namespace = uniqueNamespace();
    const warnings: string[] = [];
    const stuck = await startWorker({
      namespace,
      id: 'stuck',
      concurrency: 2,
      logger: logger(warnings),
      handlers: {
        // Never settles, and never looks at ctx.signal.
        hang: () => new Promise(() => undefined),
        work: () => 'stuck',
      },
    });
    await startWorker({ namespace, id: 'good', concurrency: 2, handlers: { work: () => 'good' } });
    const d = track(
      createDispatcher({ redis: redis.url, namespace, logger: false, reconcileIntervalMs: 100 }),
    );
    await d.start();
    await eventually(() => d.workers().filter((w) => w.healthy).length === 2, 10_000, 'workers');

    const hung = await Promise.allSettled([
      d.dispatch('hang', 1, { timeoutMs: 200 }),
      d.dispatch('hang', 2, { timeoutMs: 200 }),
    ]);
    expect(hung.map((r) => r.status === 'rejected' && (r.reason as DispatchError).code)).toEqual([
      'TIMEOUT',
      'TIMEOUT',
    ]);

    // Both slots of `stuck` are held past their deadline: it says so, in its stats,
    // its log and its heartbeat, which the dispatcher reads.
    await eventually(
      () => d.workers().find((w) => w.id === 'stuck')?.overdue === 2,
      5_000,
      "the dispatcher's view of the stuck slots",
    );
    expect(stuck.stats().overdue).toBe(2);
    expect(warnings.some((w) => w.includes('hang') && w.includes('deadline'))).toBe(true);
    expect(d.workers().find((w) => w.id === 'stuck')?.healthy).toBe(true);

    const later = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => d.dispatch('work', i, { timeoutMs: 2_000 })),
    );
    const errors = later.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    expect(errors).toEqual([]);
    expect(later.map((r) => r.status === 'fulfilled' && r.value)).toEqual(
      Array.from({ length: 20 }, () => 'good'),
    );
    expect(hung.every((r) => r.status === 'rejected' && r.reason instanceof DispatchError)).toBe(
      true,
    );
    await d.close();
  });

  it('sends back tasks queued behind slots that turned stuck, to run elsewhere', async () => {
    const namespace = uniqueNamespace();
    await startWorker({
      namespace,
      id: 'stuck',
      concurrency: 2,
      maxQueue: 2,
      handlers: { hang: () => new Promise(() => undefined), work: () => 'stuck' },
    });
    const d = track(
      createDispatcher({ redis: redis.url, namespace, logger: false, reconcileIntervalMs: 100 }),
    );
    await d.start();
    await eventually(() => d.workers().length === 1, 10_000, 'the stuck worker');
    // Alone, it takes both hangs and queues both tasks behind them.
    const hung = Promise.allSettled([
      d.dispatch('hang', 1, { timeoutMs: 200 }),
      d.dispatch('hang', 2, { timeoutMs: 200 }),
    ]);
    const queued = Promise.allSettled([
      d.dispatch('work', 1, { timeoutMs: 10_000 }),
      d.dispatch('work', 2, { timeoutMs: 10_000 }),
    ]);
    await startWorker({ namespace, id: 'good', concurrency: 2, handlers: { work: () => 'good' } });
    await hung;
    const results = await queued;
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : String(r.reason)))).toEqual([
      'good',
      'good',
    ]);
    await d.close();
  });
});
