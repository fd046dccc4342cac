// Every selection strategy against real `ringcast-worker` processes on a private
// redis-server: tasks settle, and each strategy does what it is chosen for.
import { fileURLToPath } from 'node:url';
import {
  createDispatcher,
  type Dispatcher,
  STRATEGY_NAMES,
  type StrategyName,
} from '@ringcast/dispatcher';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisAvailability, uniqueNamespace, useRedis } from '../support/redis.js';
import { track } from '../support/track.js';
import { spawnWorker, type WorkerProcess } from '../support/workers.js';

const HANDLERS = fileURLToPath(new URL('../fixtures/ring-handlers.js', import.meta.url));

interface Ran {
  worker: string;
  payload: { i: number };
}

interface Tasks {
  [name: string]: { payload: unknown; result: unknown };
  whoami: { payload: { i: number; ms?: number }; result: Ran };
  paced: { payload: { i: number; ms: number; slow?: string; factor?: number }; result: Ran };
  sleepy: { payload: { ms: number; value?: unknown }; result: unknown };
}

function tally(results: readonly Ran[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) out[r.worker] = (out[r.worker] ?? 0) + 1;
  return out;
}

async function untilWorkers(d: Dispatcher<Tasks>, ids: readonly string[]): Promise<void> {
  const until = Date.now() + 15_000;
  while (!ids.every((id) => d.workers().some((w) => w.id === id && w.healthy))) {
    if (Date.now() > until) throw new Error(`expected workers ${ids.join(', ')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(!redisAvailability.available)('selection strategies with real workers', () => {
  const redis = useRedis();
  const spawned: WorkerProcess[] = [];

  async function dispatcher(namespace: string, strategy: StrategyName) {
    const d = track(
      createDispatcher<Tasks>({ redis: redis.url, namespace, logger: false, strategy }),
    );
    await d.start();
    return d;
  }

  async function worker(
    namespace: string,
    id: string,
    extra: { weight?: number; concurrency?: number; maxQueue?: number } = {},
  ) {
    const w = await spawnWorker({ url: redis.url, namespace, id, handlers: HANDLERS, ...extra });
    spawned.push(w);
    return w;
  }

  describe('one fleet of three (weights 1, 2, 3)', () => {
    const ns = uniqueNamespace();
    const ids = ['w1', 'w2', 'w3'];

    beforeAll(async () => {
      await Promise.all(ids.map((id, k) => worker(ns, id, { weight: k + 1, concurrency: 300 })));
    });

    afterAll(async () => {
      await Promise.all(spawned.splice(0).map((w) => w.kill()));
    });

    it.each(STRATEGY_NAMES)('%s: 600 tasks all settle with their own results', async (strategy) => {
      const d = await dispatcher(ns, strategy);
      await untilWorkers(d, ids);
      const results = await Promise.all(
        Array.from({ length: 600 }, (_, i) =>
          d.dispatch('whoami', { i }, { key: `user-${i % 60}` }),
        ),
      );
      results.forEach((r, i) => {
        expect(r.payload).toEqual({ i });
        expect(ids).toContain(r.worker);
      });
      expect(d.stats()).toMatchObject({
        dispatched: 600,
        settled: { ok: 600, error: {} },
        inflight: 0,
        queued: 0,
      });
      const counts = tally(results);
      // What each strategy promises of the shares, checked where it is exact or bounded.
      if (strategy === 'weighted-round-robin')
        expect(counts).toEqual({ w1: 100, w2: 200, w3: 300 });
      if (strategy === 'round-robin') expect(counts).toEqual({ w1: 200, w2: 200, w3: 200 });
      if (strategy === 'random') {
        // Weighted, independent: within 5σ of 100 / 200 / 300.
        ids.forEach((id, k) => {
          const p = (k + 1) / 6;
          expect(Math.abs((counts[id] ?? 0) - 600 * p)).toBeLessThanOrEqual(
            5 * Math.sqrt(600 * p * (1 - p)),
          );
        });
      }
      if (strategy !== 'consistent-hash') {
        for (const id of ids) expect(counts[id]).toBeGreaterThan(0);
      }
      await d.close();
    });

    it('consistent-hash: the same key runs on the same worker, task after task', async () => {
      const d = await dispatcher(ns, 'consistent-hash');
      await untilWorkers(d, ids);
      const owner = new Map<string, string>();
      for (let round = 0; round < 5; round++) {
        // One at a time: nothing in flight, so no load bound passes a key on.
        for (let k = 0; k < 20; k++) {
          const r = await d.dispatch('whoami', { i: k }, { key: `tenant-${k}` });
          if (round === 0) owner.set(`tenant-${k}`, r.worker);
          else expect(r.worker).toBe(owner.get(`tenant-${k}`));
        }
      }
      // Twenty keys land on more than one worker.
      expect(new Set(owner.values()).size).toBeGreaterThan(1);
      // A second dispatcher seeing the same workers sends each key to the same place.
      const other = await dispatcher(ns, 'consistent-hash');
      await untilWorkers(other, ids);
      for (const [key, id] of owner) {
        expect((await other.dispatch('whoami', { i: 0 }, { key })).worker).toBe(id);
      }
      await other.close();
      await d.close();
    });

    it('consistent-hash: a hot key spills over to its next workers instead of swamping one', async () => {
      const d = await dispatcher(ns, 'consistent-hash');
      await untilWorkers(d, ids);
      const results = await Promise.all(
        Array.from({ length: 240 }, (_, i) => d.dispatch('whoami', { i, ms: 150 }, { key: 'hot' })),
      );
      const counts = tally(results);
      const busiest = Math.max(...Object.values(counts));
      // All 240 are in flight together: no worker holds more than ⌈1.25 × 240 × w / 6⌉ (150 for
      // the heaviest); without the bound the key's worker would run all 240.
      expect(busiest).toBeLessThanOrEqual(150);
      expect(Object.keys(counts).length).toBeGreaterThan(1);
      await d.close();
    });
  });

  describe.each(['least-inflight', 'power-of-two'] as const)('%s', (strategy) => {
    afterEach(async () => {
      await Promise.all(spawned.splice(0).map((w) => w.kill()));
    });

    it('avoids a worker whose slots are busy', async () => {
      const ns = uniqueNamespace();
      await worker(ns, 'busy', { concurrency: 8, maxQueue: 0 });
      const d = await dispatcher(ns, strategy);
      await untilWorkers(d, ['busy']);
      // Alone, it takes three long tasks...
      const long = Array.from({ length: 3 }, () =>
        d.dispatch('sleepy', { ms: 3_000, value: 'done' }),
      );
      await new Promise((r) => setTimeout(r, 50));
      // ...then an idle worker joins, and gets every quick task while those run.
      await worker(ns, 'idle', { concurrency: 8, maxQueue: 0 });
      await untilWorkers(d, ['busy', 'idle']);
      for (let i = 0; i < 20; i++) {
        expect((await d.dispatch('whoami', { i })).worker).toBe('idle');
      }
      expect(await Promise.all(long)).toEqual(['done', 'done', 'done']);
      await d.close();
    });
  });

  describe('latency', () => {
    afterEach(async () => {
      await Promise.all(spawned.splice(0).map((w) => w.kill()));
    });

    it('sends less to a worker whose round trips are slow', async () => {
      const ns = uniqueNamespace();
      await Promise.all([worker(ns, 'fast'), worker(ns, 'slow')]);
      const d = await dispatcher(ns, 'latency');
      await untilWorkers(d, ['fast', 'slow']);
      const ran: string[] = [];
      let next = 0;
      // Eight in flight, 400 tasks; the slow worker's handler takes 15× as long.
      const lane = async () => {
        while (next < 400) {
          const i = next++;
          ran[i] = (await d.dispatch('paced', { i, ms: 3, slow: 'slow', factor: 15 })).worker;
        }
      };
      await Promise.all(Array.from({ length: 8 }, lane));
      const late = ran.slice(100);
      const slowShare = late.filter((w) => w === 'slow').length / late.length;
      // Equal weights would give it half.
      expect(slowShare).toBeGreaterThan(0);
      expect(slowShare).toBeLessThan(0.25);
      await d.close();
    });
  });
});
