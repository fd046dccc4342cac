import { spawn } from 'node:child_process';
import { createDispatcher, type Dispatcher } from '@ringcast/dispatcher';
import { ErrorCode, names } from '@ringcast/protocol';
import { createWorker, type Worker, WorkerError, type WorkerOptions } from '@ringcast/worker';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { redisAvailability, uniqueNamespace, useRedis } from '../support/redis.js';
import { track } from '../support/track.js';
import {
  FIXTURE_HANDLERS,
  spawnWorker,
  WORKER_CLI,
  type WorkerProcess,
} from '../support/workers.js';
import { eventually } from './fake-dispatcher.js';

describe.skipIf(!redisAvailability.available)('two processes started with one worker id', () => {
  const redis = useRedis();
  const workers: Worker[] = [];
  const processes: WorkerProcess[] = [];
  const dispatchers: Dispatcher[] = [];
  const clients: Redis[] = [];

  afterEach(async () => {
    await Promise.all(dispatchers.splice(0).map((d) => d.close()));
    await Promise.all(workers.splice(0).map((w) => w.close()));
    await Promise.all(processes.splice(0).map((p) => p.kill()));
    await Promise.all(clients.splice(0).map((c) => c.quit()));
  });

  function worker(namespace: string, options: Partial<WorkerOptions> = {}): Worker {
    const w = track(
      createWorker({
        redis: redis.url,
        namespace,
        logger: false,
        heartbeatIntervalMs: 100,
        heartbeatTtlMs: 500,
        handlers: { work: (_p, ctx) => ctx.workerId },
        ...options,
      }),
    );
    workers.push(w);
    return w;
  }

  function client(): Redis {
    const c = track(new Redis(redis.url));
    clients.push(c);
    return c;
  }

  async function subscribers(namespace: string, id: string): Promise<number> {
    const reply = (await client().call('PUBSUB', 'NUMSUB', names(namespace).workerChannel(id))) as [
      string,
      number,
    ];
    return reply[1];
  }

  async function refusal(promise: Promise<unknown>): Promise<WorkerError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkerError);
    return error as WorkerError;
  }

  /** A logger that keeps the error lines. */
  function errorLines(): { lines: string[]; logger: WorkerOptions['logger'] } {
    const lines: string[] = [];
    const ignore = () => undefined;
    return { lines, logger: { info: ignore, warn: ignore, error: (m: string) => lines.push(m) } };
  }

  it('the second refuses to start; the first keeps serving, every task runs once', async () => {
    const namespace = uniqueNamespace();
    const runs = new Map<number, string[]>();
    const handlers = {
      work: (i: unknown, ctx: { workerId: string }) => {
        const list = runs.get(i as number) ?? [];
        list.push(ctx.workerId);
        runs.set(i as number, list);
        return i;
      },
    };
    const first = worker(namespace, { id: 'twin', handlers });
    await first.start();
    const second = worker(namespace, { id: 'twin', handlers });
    const error = await refusal(second.start());
    expect(error.code).toBe(ErrorCode.DUPLICATE_WORKER);
    expect(error.message).toMatch(/worker id twin is in use/);
    expect(await subscribers(namespace, 'twin')).toBe(1);
    const stored = await client().hget(names(namespace).registryKey, 'twin');
    expect(JSON.parse(stored!).incarnation).toBe(first.info().incarnation);

    const d = track(createDispatcher({ redis: redis.url, namespace, logger: false }));
    dispatchers.push(d);
    await d.start();
    await eventually(() => d.workers().some((w) => w.healthy));
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => d.dispatch('work', i)));
    expect(results).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect([...runs.values()].filter((ran) => ran.length !== 1)).toEqual([]);
    expect(first.stats()).toMatchObject({ succeeded: 200, sharedChannel: 0, fenced: false });
    expect(second.stats().received).toBe(0);
  });

  it('of two started at the same moment, exactly one starts', async () => {
    const namespace = uniqueNamespace();
    for (let round = 0; round < 5; round++) {
      const id = `race-${round}`;
      const pair = [worker(namespace, { id }), worker(namespace, { id })];
      const outcomes = await Promise.allSettled(pair.map((w) => w.start()));
      const started = outcomes.filter((o) => o.status === 'fulfilled');
      const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
      expect(started, `round ${round}`).toHaveLength(1);
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatchObject({ code: ErrorCode.DUPLICATE_WORKER });
      await eventually(async () => (await subscribers(namespace, id)) === 1);
    }
  });

  it('a restart under the same id starts at once, while the old heartbeat is still live', async () => {
    const namespace = uniqueNamespace();
    const options = { url: redis.url, namespace, id: 'phoenix', heartbeatTtlMs: 10_000 };
    const old = await spawnWorker(options);
    processes.push(old);
    await old.kill('SIGKILL');
    const n = names(namespace);
    expect(await client().exists(n.heartbeatKey('phoenix'), n.claimKey('phoenix'))).toBe(2);
    const restarted = await spawnWorker({ ...options, waitReady: false });
    processes.push(restarted);
    await eventually(() => /started/.test(restarted.output()), 10_000, 'the restarted worker');
    expect(restarted.child.exitCode).toBeNull();
    const d = track(createDispatcher({ redis: redis.url, namespace, logger: false }));
    dispatchers.push(d);
    await d.start();
    await eventually(() => d.workers().some((w) => w.healthy && w.pid === restarted.pid));
    await expect(d.dispatch('pid', null)).resolves.toBe(restarted.pid);
  });

  it('a running worker that finds its channel shared logs an error and counts it', async () => {
    const namespace = uniqueNamespace();
    const { lines, logger } = errorLines();
    const w = worker(namespace, { id: 'shared', logger });
    await w.start();
    // Stands in for a duplicate that slipped in: subscribed, not holding the id.
    await client().subscribe(names(namespace).workerChannel('shared'));
    await eventually(() => w.stats().sharedChannel > 0, 5_000, 'the shared channel to be seen');
    await eventually(() => lines.some((l) => /2 processes are subscribed/.test(l)));
    expect(lines.filter((l) => l.includes('shared'))).toHaveLength(1); // rate-limited
    expect(w.stats().fenced).toBe(false);
  });

  it('a running worker whose id another live process took stops serving it', async () => {
    const namespace = uniqueNamespace();
    const n = names(namespace);
    const { lines, logger } = errorLines();
    const w = worker(namespace, { id: 'usurped', logger });
    await w.start();
    const other = client();
    // Another live process that took the id while this one was cut off.
    await other.subscribe(n.workerChannel('usurped'));
    await client().set(n.claimKey('usurped'), 'other-incarnation', 'PX', 60_000);
    await eventually(() => w.stats().fenced, 5_000, 'the worker to fence itself');
    expect(lines.join('\n')).toMatch(/another live process now holds this worker id/);
    await eventually(async () => (await subscribers(namespace, 'usurped')) === 1);
    // Its heartbeat no longer rewrites the id's keys, and close() leaves them to the holder.
    const admin = client();
    await admin.del(n.heartbeatKey('usurped'));
    await new Promise((r) => setTimeout(r, 300));
    expect(await admin.exists(n.heartbeatKey('usurped'))).toBe(0);
    await w.close();
    expect(await admin.hexists(n.registryKey, 'usurped')).toBe(1);
    expect(await admin.get(n.claimKey('usurped'))).toBe('other-incarnation');
  });

  it('the CLI refuses a second process with one line naming the id, exit code 2', async () => {
    const namespace = uniqueNamespace();
    const first = await spawnWorker({ url: redis.url, namespace, id: 'cli-twin' });
    processes.push(first);
    const child = spawn(
      process.execPath,
      [
        WORKER_CLI,
        '--handlers',
        FIXTURE_HANDLERS,
        '--redis',
        redis.url,
        '--namespace',
        namespace,
        '--id',
        'cli-twin',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    // A second copy that does not refuse serves forever: give it a bound.
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(killer);
    expect(code).toBe(2);
    const lines = stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ringcast-worker: worker id cli-twin is in use/);
    expect(first.child.exitCode).toBeNull();
  });
});
