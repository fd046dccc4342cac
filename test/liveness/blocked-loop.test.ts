// A handler that blocks its worker's event loop longer than the heartbeat TTL
// must not make the worker look dead (issue 13, defect 5): the tasks that reached
// it wait for it, new ones go elsewhere, and nothing runs twice.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDispatcher, type Dispatcher } from '@ringcast/dispatcher';
import { ErrorCode } from '@ringcast/protocol';
import { createWorker, type WorkerError } from '@ringcast/worker';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { redisAvailability, uniqueNamespace, useRedis } from '../support/redis.js';
import { track } from '../support/track.js';
import { type SpawnWorkerOptions, spawnWorker, type WorkerProcess } from '../support/workers.js';

const LOOP = fileURLToPath(new URL('../fixtures/loop-handlers.js', import.meta.url));
const PLAIN = fileURLToPath(new URL('../fixtures/loop-handlers-plain.js', import.meta.url));

/** Small, so the block below is several TTLs without making the test slow. */
const TTL_MS = 400;
const INTERVAL_MS = 100;

interface Tasks {
  [name: string]: { payload: unknown; result: unknown };
  note: { payload: { k: string }; result: { k: string; worker: string } };
  spin: { payload: { k: string; ms: number }; result: { k: string; worker: string } };
}

describe.skipIf(!redisAvailability.available)('a worker whose event loop is blocked', () => {
  const redis = useRedis();
  const workers: WorkerProcess[] = [];
  let runLogDir: string;

  beforeEach(() => {
    runLogDir = mkdtempSync(join(tmpdir(), 'ringcast-loop-'));
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill()));
    rmSync(runLogDir, { recursive: true, force: true });
  });

  async function worker(
    namespace: string,
    id: string,
    extra: Partial<SpawnWorkerOptions> = {},
  ): Promise<WorkerProcess> {
    const w = await spawnWorker({
      url: redis.url,
      namespace,
      id,
      handlers: LOOP,
      heartbeatIntervalMs: INTERVAL_MS,
      heartbeatTtlMs: TTL_MS,
      env: { RINGCAST_RUN_LOG_DIR: runLogDir },
      ...extra,
    });
    workers.push(w);
    return w;
  }

  async function dispatcher(namespace: string): Promise<Dispatcher<Tasks>> {
    const d = track(
      createDispatcher<Tasks>({
        redis: redis.url,
        namespace,
        logger: false,
        // Shorter than the block: the ack windows of the attempts that reached the
        // blocked worker close while it is blocked, before a reconcile round may
        // have learned so. (It must exceed the heartbeat interval + 200 ms for the
        // heartbeat to show the block in time; the defaults are 5 s and 1 s.)
        ackTimeoutMs: 600,
        reconcileIntervalMs: 250,
        timeoutMs: 20_000,
      }),
    );
    await d.start();
    return d;
  }

  async function untilHealthy(d: Dispatcher<Tasks>, ids: string[]): Promise<void> {
    const until = Date.now() + 10_000;
    const healthy = () => new Set(d.workers().flatMap((w) => (w.healthy ? [w.id] : [])));
    while (!ids.every((id) => healthy().has(id))) {
      if (Date.now() > until) throw new Error(`expected ${ids.join(', ')} to be healthy`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Runs per task key, from the run logs every worker process appends to. */
  function runs(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const file of readdirSync(runLogDir)) {
      for (const line of readFileSync(join(runLogDir, file), 'utf8').split('\n')) {
        if (!line) continue;
        const k = line.split('\t')[0]!;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
    }
    return counts;
  }

  /** A dispatch's outcome, so a rejection is an assertion's subject rather than an unhandled one. */
  function outcome<T>(promise: Promise<T>): Promise<{ value?: T; error?: string }> {
    return promise.then(
      (value) => ({ value }),
      (error: unknown) => ({ error: String(error) }),
    );
  }

  /** Samples `workers()` until `done` settles; the ids missing from any sample. */
  async function watchMembership(
    d: Dispatcher<Tasks>,
    ids: string[],
    done: Promise<unknown>,
  ): Promise<Set<string>> {
    const missing = new Set<string>();
    let finished = false;
    void done.finally(() => {
      finished = true;
    });
    while (!finished) {
      const listed = new Set(d.workers().map((w) => w.id));
      for (const id of ids) if (!listed.has(id)) missing.add(id);
      await new Promise((r) => setTimeout(r, 10));
    }
    return missing;
  }

  it('blocked past 2x its TTL, it keeps its tasks: each runs once, innocent ones complete', async () => {
    const ns = uniqueNamespace();
    await worker(ns, 'blocky');
    await worker(ns, 'plain', { handlers: PLAIN });
    const d = await dispatcher(ns);
    await untilHealthy(d, ['blocky', 'plain']);

    // Only `blocky` has `spin`: the blocker goes there.
    const blocker = outcome(d.dispatch('spin', { k: 'blocker', ms: 3 * TTL_MS }));
    const innocent: Array<ReturnType<typeof outcome<{ k: string; worker: string }>>> = [];
    const stream = (async () => {
      for (let round = 0; round < 60; round++) {
        for (let j = 0; j < 4; j++)
          innocent.push(outcome(d.dispatch('note', { k: `n${round}.${j}` })));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const all = Promise.all([blocker, stream.then(() => Promise.all(innocent))]);
    const missing = await watchMembership(d, ['blocky', 'plain'], all);
    const [blocked, outcomes] = await all;

    expect(blocked).toEqual({ value: { k: 'blocker', worker: 'blocky', spins: true } });
    expect(outcomes.filter((o) => o.error)).toEqual([]);
    const results = outcomes.map((o) => o.value!);
    expect(results.every((r, i) => r.k === `n${Math.floor(i / 4)}.${i % 4}`)).toBe(true);
    // Some innocent tasks reached the blocked worker before the dispatcher knew.
    expect(results.some((r) => r.worker === 'blocky')).toBe(true);
    const counts = runs();
    const twice = [...counts].filter(([, n]) => n !== 1).map(([k]) => k);
    expect(twice).toEqual([]);
    expect(counts.size).toBe(241);
    expect([...missing]).toEqual([]);
    expect(d.stats().settled.error).toEqual({});
    await untilHealthy(d, ['blocky', 'plain']);
    await d.close();
  });

  it('a long CPU-bound task on the only worker runs once and succeeds', async () => {
    const ns = uniqueNamespace();
    await worker(ns, 'alone');
    const d = await dispatcher(ns);
    await untilHealthy(d, ['alone']);
    const task = outcome(d.dispatch('spin', { k: 'long', ms: 4 * TTL_MS }));
    const missing = await watchMembership(d, ['alone'], task);
    expect(await task).toEqual({ value: { k: 'long', worker: 'alone', spins: true } });
    expect(runs().get('long')).toBe(1);
    expect([...missing]).toEqual([]);
    expect(d.stats().redelivered).toBe(0);
    await d.close();
  });

  it('keeps its id while blocked: a second process with the same id is refused', async () => {
    const ns = uniqueNamespace();
    await worker(ns, 'twin');
    const d = await dispatcher(ns);
    await untilHealthy(d, ['twin']);
    const blocker = outcome(d.dispatch('spin', { k: 'blocker', ms: 6 * TTL_MS }));
    // Wait until it runs, then past the TTL: a claim kept only by the blocked loop would lapse.
    const until = Date.now() + 10_000;
    while (!runs().has('blocker')) {
      if (Date.now() > until) throw new Error('the blocker never ran');
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 2 * TTL_MS));
    const twin = track(
      createWorker({
        redis: redis.url,
        namespace: ns,
        id: 'twin',
        logger: false,
        heartbeatIntervalMs: INTERVAL_MS,
        heartbeatTtlMs: TTL_MS,
        handlers: { note: () => 'twin' },
      }),
    );
    const refused = await twin.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    await twin.close();
    expect((refused as WorkerError | undefined)?.code).toBe(ErrorCode.DUPLICATE_WORKER);
    expect((await blocker).value?.worker).toBe('twin');
    expect(runs().get('blocker')).toBe(1);
    await d.close();
  });
});
