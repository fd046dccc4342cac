// `ringcast drain <id>` against a ringcast-worker process: the worker leaves
// exactly as on SIGTERM, the process exits 0, and with a dispatcher sending
// all along every task settles once and runs once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDispatcher, type Dispatcher } from '@ringcast/dispatcher';
import { names } from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LEDGER_HANDLERS } from '../faults/harness.js';
import { expectedValue, readRunLogs } from '../faults/ledger.js';
import { drain } from '../support/operator.js';
import { redisAvailability, uniqueNamespace, useRedis } from '../support/redis.js';
import { track } from '../support/track.js';
import { spawnWorker, type WorkerProcess } from '../support/workers.js';
import { eventually } from './fake-dispatcher.js';

type Tasks = { record: { payload: { k: string; ms: number }; result: { k: string; h: string } } };

describe.skipIf(!redisAvailability.available)('ringcast-worker drained by an operator', () => {
  const redis = useRedis();
  let namespace: string;
  let runLogDir: string;
  let client: Redis;
  let processes: WorkerProcess[];
  let dispatcher: Dispatcher<Tasks> | undefined;

  beforeEach(() => {
    namespace = uniqueNamespace();
    runLogDir = mkdtempSync(join(tmpdir(), 'ringcast-drain-'));
    client = track(new Redis(redis.url));
    processes = [];
  });

  afterEach(async () => {
    await dispatcher?.close();
    dispatcher = undefined;
    await Promise.all(processes.map((p) => p.kill()));
    await client.quit();
    rmSync(runLogDir, { recursive: true, force: true });
  });

  async function worker(id: string, weight: number, args: string[] = []): Promise<WorkerProcess> {
    const w = await spawnWorker({
      args,
      url: redis.url,
      namespace,
      id,
      weight,
      handlers: LEDGER_HANDLERS,
      drainTimeoutMs: 5_000,
      env: { RINGCAST_RUN_LOG_DIR: runLogDir },
    });
    processes.push(w);
    return w;
  }

  /** Keys that ran on `id` so far. */
  function ranOn(id: string): number {
    let count = 0;
    for (const runs of readRunLogs(runLogDir).runs.values()) {
      count += runs.filter((r) => r.worker === id).length;
    }
    return count;
  }

  it('exits 0, and not one task of a steady stream is lost or runs twice', async () => {
    const leaving = await worker('leaving', 3);
    await worker('staying', 1);
    const d = track(createDispatcher<Tasks>({ redis: redis.url, namespace, logger: false }));
    dispatcher = d;
    await d.start();
    await eventually(() => d.workers().length === 2, 10_000, 'both workers in the ring');

    // A steady stream of short tasks, before, during and after the drain.
    const settled: Array<Promise<PromiseSettledResult<unknown>>> = [];
    let sending = true;
    const stream = (async () => {
      for (let i = 0; sending; i++) {
        const k = `t${i}`;
        settled.push(
          d.dispatch('record', { k, ms: 20 }).then(
            (value) => ({ status: 'fulfilled', value }) as const,
            (reason: unknown) => ({ status: 'rejected', reason }) as const,
          ),
        );
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    await eventually(() => ranOn('leaving') >= 20, 10_000, 'tasks running on the leaving worker');
    expect(await drain(client, namespace, 'leaving')).toBe(1);
    const exit = await leaving.exited;
    expect(exit, leaving.output()).toEqual({ code: 0, signal: null });
    expect(leaving.output()).toContain('drain requested by an operator');
    expect(await client.hexists(names(namespace).registryKey, 'leaving')).toBe(0);

    // The stream goes on to the worker that stays.
    const before = ranOn('staying');
    await eventually(() => ranOn('staying') >= before + 20, 10_000, 'tasks on the staying worker');
    sending = false;
    await stream;

    const outcomes = await Promise.all(settled);
    const failed = outcomes.filter((o) => o.status === 'rejected');
    expect(failed, 'tasks that did not succeed').toEqual([]);
    outcomes.forEach((o, i) => {
      expect(o).toEqual({ status: 'fulfilled', value: expectedValue(`t${i}`) });
    });
    const { runs, unparsable } = readRunLogs(runLogDir);
    expect(unparsable).toBe(0);
    const notOnce = [...runs].filter(([, list]) => list.length !== 1);
    expect(notOnce, 'tasks that did not run exactly once').toEqual([]);
    expect(runs.size).toBe(outcomes.length);
  });

  it('exits 0 when drained while idle, metrics server and all, and ignores a drain for another incarnation first', async () => {
    // The metrics server would keep the process alive: only the CLI's exit ends it.
    const w = await worker('idle', 1, ['--metrics-port', '0']);
    expect(await drain(client, namespace, 'idle', 'an-earlier-process')).toBe(1);
    await eventually(
      () => w.output().includes('ignored a drain for its incarnation'),
      10_000,
      'the ignored drain',
    );
    expect(await client.hexists(names(namespace).registryKey, 'idle')).toBe(1);
    expect(await drain(client, namespace, 'idle')).toBe(1);
    expect(await w.exited).toEqual({ code: 0, signal: null });
  });
});
