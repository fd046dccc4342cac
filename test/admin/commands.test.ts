/**
 * `ringcast workers`, `stats`, `inspect` and the error paths of `reweight` and
 * `drain`, run as processes against a real Redis, real `ringcast-worker`
 * processes and a real dispatcher.
 */
import { names } from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ringcastIn } from '../support/admin-cli.js';
import { useDeployment } from '../support/deployment.js';
import { redisAvailability, uniqueNamespace } from '../support/redis.js';
import { track } from '../support/track.js';
import { eventually } from '../worker/fake-dispatcher.js';

describe.skipIf(!redisAvailability.available)('ringcast commands against real workers', () => {
  const live = useDeployment();
  const { redis } = live;
  const ringcast = (namespace: string, ...args: string[]) =>
    ringcastIn(redis.url, namespace, ...args);

  it('workers: a table of the live workers, and the same as JSON objects', async () => {
    const namespace = uniqueNamespace();
    const b = await live.spawnWorker(namespace, { id: 'w-b', concurrency: 3, weight: 5 });
    const a = await live.spawnWorker(namespace, { id: 'w-a', concurrency: 2 });
    // An operator weight set without a frame: the worker takes it with its next heartbeat
    // (a weight not taken yet shows as pending, 4→9*: packages/admin/src/render/workers-table.test.ts).
    const client = track(new Redis(redis.url));
    await client.hset(names(namespace).weightsKey, 'w-b', '9');
    await eventually(async () => {
      const entry = await client.hget(names(namespace).registryKey, 'w-b');
      return entry !== null && (JSON.parse(entry) as { weight: number }).weight === 9;
    }, 10_000);
    await client.quit();

    const table = await ringcast(namespace, 'workers');
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^ID\s+WEIGHT\s+CONCURRENCY\s+IN FLIGHT\s+STUCK\s+HANDLERS\s+HEARTBEAT/,
    );
    expect(lines[2]).toMatch(
      new RegExp(
        `^w-a\\s+2\\s+2\\s+\\d+\\s+0\\s+context,echo,fail,hash,pid,sleep\\s+.* ago\\s+\\S+\\s+${a.pid}\\s+0\\.1\\.0$`,
      ),
    );
    expect(lines[3]).toMatch(new RegExp(`^w-b\\s+9\\*\\s+3\\s+.*\\s${b.pid}\\s`));
    expect(table.stdout).toContain('* weight set by the operator');
    expect(lines.at(-1)).toBe('2 live workers');

    const json = await ringcast(namespace, 'workers', '--json');
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(rows.map((r) => r['id'])).toEqual(['w-a', 'w-b']);
    expect(rows[1]).toMatchObject({
      weight: 9,
      policyWeight: 9,
      concurrency: 3,
      stuckSlots: 0,
      pid: b.pid,
      handlers: ['context', 'echo', 'fail', 'hash', 'pid', 'sleep'],
    });
    expect(rows[0]!['heartbeatAgeMs']).toEqual(expect.any(Number));
  });

  it('workers: says so when none is live', async () => {
    const namespace = uniqueNamespace();
    expect(await ringcast(namespace, 'workers')).toEqual({
      code: 0,
      stdout: `no live workers in namespace ${namespace}\n`,
      stderr: '',
    });
    expect(JSON.parse((await ringcast(namespace, 'workers', '--json')).stdout)).toEqual([]);
  });

  it('stats: per handler over the workers and per worker, after a dispatcher ran tasks', async () => {
    const namespace = uniqueNamespace();
    await live.spawnWorker(namespace, { id: 'w-1' });
    await live.spawnWorker(namespace, { id: 'w-2' });
    const d = await live.dispatcher(namespace);
    await Promise.all(Array.from({ length: 40 }, (_, i) => d.dispatch('echo', { i })));
    const failures = await Promise.allSettled(
      Array.from({ length: 3 }, () => d.dispatch('fail', { message: 'no' })),
    );
    expect(failures.map((f) => f.status)).toEqual(['rejected', 'rejected', 'rejected']);

    // Each worker rewrites its report about once a second, the dispatcher once after the calls settled.
    const report = await eventually(async () => {
      const run = await ringcast(namespace, 'stats', '--json');
      const parsed = JSON.parse(run.stdout);
      const settled = parsed.latency?.echo?.succeeded === 40 && parsed.latency.fail?.failed;
      return (
        parsed.handlers?.echo?.succeeded === 40 && parsed.handlers.fail?.failed && settled && parsed
      );
    });
    expect(report.handlers.echo).toMatchObject({
      succeeded: 40,
      failed: {},
      redelivered: 0,
      sources: 2,
      withoutHistogram: 0,
      duration: { count: 40 },
    });
    expect(report.handlers.fail).toMatchObject({ succeeded: 0, failed: { HANDLER_ERROR: 3 } });
    const perWorker = Object.values(report.workers) as Array<{
      handlers: Record<string, { succeeded: number }>;
    }>;
    expect(Object.keys(report.workers).sort()).toEqual(['w-1', 'w-2']);
    expect(perWorker.reduce((sum, w) => sum + w.handlers['echo']!.succeeded, 0)).toBe(40);
    const { p50, p99, max } = report.handlers.echo.duration;
    expect(p50).toBeLessThanOrEqual(p99);
    expect(p99).toBeLessThanOrEqual(max);
    // End-to-end latency, merged over the one dispatcher: every call it settled, by outcome.
    expect(Object.keys(report.dispatchers)).toEqual([d.id]);
    expect(report.latency.echo).toMatchObject({
      succeeded: 40,
      sources: 1,
      duration: { count: 40 },
    });
    expect(report.latency.fail).toMatchObject({ succeeded: 0, failed: { HANDLER_ERROR: 3 } });
    const e2e = report.latency.echo.duration;
    expect([e2e.p50 <= e2e.p90, e2e.p90 <= e2e.p99, e2e.p99 <= e2e.max, e2e.avg > 0]).toEqual([
      true,
      true,
      true,
      true,
    ]);
    // Dispatch to settlement holds the handler's run: its median is not below the execution's.
    expect(e2e.p50).toBeGreaterThanOrEqual(p50);

    const table = await ringcast(namespace, 'stats');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/\necho\s+2\s+40\s+0\s+0\s/);
    expect(table.stdout).toMatch(/\nfail\s+2\s+0\s+3 \(HANDLER_ERROR 3\)\s/);
    expect(table.stdout).toMatch(/\nw-1\s+echo\s+\d+/);
    expect(table.stdout).toMatch(/\nw-2\s+echo\s+\d+/);
    expect(table.stdout).toContain(
      'End-to-end latency per handler, dispatch() to settlement, over 1 dispatcher',
    );
    expect(table.stdout).toMatch(/\necho\s+1\s+40\s+0\s+[\d.]+ (ms|µs)/);
  });

  it('inspect: a durable task as a block and as JSON; an unknown id exits 1', async () => {
    const namespace = uniqueNamespace();
    await live.spawnWorker(namespace, { id: 'w-1' });
    const d = await live.dispatcher(namespace);
    const ok = await d.submit('echo', { size: 3 }, { priority: 4 });
    const failed = await d.submit('fail', { message: 'too big', code: 'E_SIZE' }, { retries: 0 });
    await d.result(ok);
    await expect(d.result(failed)).rejects.toThrow('too big');

    const block = await ringcast(namespace, 'inspect', ok);
    expect(block).toMatchObject({ code: 0, stderr: '' });
    expect(block.stdout).toContain(`task      ${ok}\nhandler   echo\nstate     succeeded\n`);
    expect(block.stdout).toContain('worker    w-1\npriority  4\n');
    expect(block.stdout).toContain('result    {"size":3}\n');
    expect(block.stdout).toMatch(/\nfinished {2}\d{4}-\d\d-\d\dT.*Z \(.* after started\)\n/);

    const failure = await ringcast(namespace, 'inspect', failed);
    expect(failure.stdout).toContain('state     failed\n');
    expect(failure.stdout).toMatch(/\nerror {5}HANDLER_ERROR: .*too big\n/);
    expect(failure.stdout).toContain('thrown    Error [E_SIZE]: too big\n');

    const json = await ringcast(namespace, 'inspect', ok, '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ ...(await d.task(ok)), error: null });

    expect(await ringcast(namespace, 'inspect', 'no-such-task')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'ringcast: no task no-such-task\n',
    });
  });

  it('reweight and drain: exit 1 for a worker that is not live; nothing is written', async () => {
    const namespace = uniqueNamespace();
    const n = names(namespace);
    await live.spawnWorker(namespace, { id: 'w-1' });
    const client = track(new Redis(redis.url));
    // A dead worker's entry: its heartbeat is gone.
    const entry = (await client.hget(n.registryKey, 'w-1'))!;
    await client.hset(n.registryKey, 'w-dead', entry.replace('"id":"w-1"', '"id":"w-dead"'));

    for (const id of ['w-unknown', 'w-dead']) {
      expect(await ringcast(namespace, 'reweight', id, '3')).toEqual({
        code: 1,
        stdout: '',
        stderr: `ringcast: no live worker ${id}\n`,
      });
      expect(await ringcast(namespace, 'drain', id, '--timeout', '100')).toEqual({
        code: 1,
        stdout: '',
        stderr: `ringcast: no live worker ${id}\n`,
      });
    }
    expect(await client.hgetall(n.weightsKey)).toEqual({});

    // A bad weight is bad usage, refused before anything is read or written.
    for (const weight of ['0', '1000001', '2.5', 'x']) {
      const run = await ringcast(namespace, 'reweight', 'w-1', weight);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('<weight> must be an integer from 1 to 1000000');
    }
    expect(await client.hgetall(n.weightsKey)).toEqual({});
    expect(JSON.parse((await client.hget(n.registryKey, 'w-1'))!).weight).toBe(16);
    await client.quit();
  });

  it('reweight --reset removes the operator weight, and says when there was none', async () => {
    const namespace = uniqueNamespace();
    const n = names(namespace);
    const client = track(new Redis(redis.url));
    await client.hset(n.weightsKey, 'w-gone', '7', 'w-other', '2');
    expect(await ringcast(namespace, 'reweight', 'w-gone', '--reset')).toEqual({
      code: 0,
      stdout:
        'worker w-gone: operator weight removed; it returns to its own weight within a heartbeat\n',
      stderr: '',
    });
    expect(await client.hgetall(n.weightsKey)).toEqual({ 'w-other': '2' });
    const again = await ringcast(namespace, 'reweight', 'w-gone', '--reset', '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ id: 'w-gone', reset: true, removed: false });
    await client.quit();
  });
});
