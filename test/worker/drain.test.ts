import { createDispatcher, type Dispatcher } from '@ringcast/dispatcher';
import { createWorker, type HandlerContext, type Worker } from '@ringcast/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { redisAvailability, uniqueNamespace, useRedis } from '../support/redis.js';
import { track } from '../support/track.js';

const TASKS = 24;
const HANDLER_MS = 200;

describe.skipIf(!redisAvailability.available)(
  'a worker closed while it holds fresh attempts',
  () => {
    const redis = useRedis();
    const workers: Worker[] = [];
    const dispatchers: Dispatcher[] = [];

    afterEach(async () => {
      await Promise.all(dispatchers.splice(0).map((d) => d.close()));
      await Promise.all(workers.splice(0).map((w) => w.close()));
    });

    /** Runs per task id, over every worker of the test. */
    function ledger() {
      const runs = new Map<string, string[]>();
      return {
        runs,
        record(ctx: HandlerContext): void {
          const list = runs.get(ctx.taskId) ?? [];
          list.push(ctx.workerId);
          runs.set(ctx.taskId, list);
        },
      };
    }

    async function start(
      namespace: string,
      id: string,
      weight: number,
      handler: (payload: unknown, ctx: HandlerContext) => Promise<unknown>,
    ): Promise<Worker> {
      const worker = track(
        createWorker({
          redis: redis.url,
          namespace,
          id,
          weight,
          concurrency: TASKS,
          logger: false,
          handlers: { work: handler },
        }),
      );
      workers.push(worker);
      await worker.start();
      return worker;
    }

    const slow = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    it.each([
      // From inside the first handler: the rest of its frame is still being taken in
      // (and is nacked DRAINING); the first attempt is started but not acked.
      ['synchronously from the first handler', (close: () => void) => close(), 1],
      // After the frame was taken in, before the turn ends: every attempt started, none acked.
      ['in the same turn the tasks arrived', (close: () => void) => queueMicrotask(close), 2],
    ])('runs every task once when close() is called %s', async (_when, schedule, finishedHere) => {
      const namespace = uniqueNamespace();
      const { runs, record } = ledger();
      let closing: Promise<void> | undefined;
      let leaving: Worker | undefined;
      // The leaving worker gets most of the tasks; the other takes what is re-routed.
      leaving = await start(namespace, 'leaving', 20, async (_p, ctx) => {
        record(ctx);
        if (!closing) {
          schedule(() => {
            closing = leaving!.close();
          });
        }
        await slow(HANDLER_MS);
        return ctx.workerId;
      });
      await start(namespace, 'staying', 1, async (_p, ctx) => {
        record(ctx);
        await slow(HANDLER_MS);
        return ctx.workerId;
      });
      const d = track(createDispatcher({ redis: redis.url, namespace, logger: false }));
      dispatchers.push(d);
      await d.start();
      const until = Date.now() + 10_000;
      while (d.workers().filter((w) => w.healthy).length < 2) {
        if (Date.now() > until) throw new Error('the workers never became routable');
        await slow(10);
      }

      const results = await Promise.allSettled(
        Array.from({ length: TASKS }, (_, i) => d.dispatch('work', i)),
      );
      await closing;

      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      const twice = [...runs].filter(([, ran]) => ran.length !== 1);
      expect(twice, 'tasks that did not run exactly once').toEqual([]);
      expect(runs.size).toBe(TASKS);
      // The leaving worker finished what it took: the point of a graceful drain.
      const byLeaving = [...runs.values()].filter(([w]) => w === 'leaving').length;
      expect(byLeaving).toBeGreaterThanOrEqual(finishedHere);
      expect(leaving.stats()).toMatchObject({ inflight: 0, queued: 0, succeeded: byLeaving });
    });
  },
);
