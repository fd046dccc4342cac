/**
 * `ringcast dashboard` as a process against a real Redis, real
 * `ringcast-worker` processes and a real dispatcher: its JSON endpoints, its
 * event stream and its metrics; that it only reads (as a Redis user allowed
 * nothing else) and never shows the Redis password; a Redis outage and the
 * recovery; how it stops and how it fails to start.
 */
import { request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { DashboardHistory, DashboardSnapshot } from '@ringcast/admin';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { runRingcast } from '../support/admin-cli.js';
import { packedFiles } from '../support/bin-package.js';
import { readEvents, spawnDashboard, useDashboards } from '../support/dashboard-process.js';
import { useDeployment } from '../support/deployment.js';
import {
  privateRedisAvailable,
  redisAvailability,
  uniqueNamespace,
  usePrivateRedis,
} from '../support/redis.js';
import { track } from '../support/track.js';
import { spawnWorker, type WorkerProcess } from '../support/workers.js';
import { eventually } from '../worker/fake-dispatcher.js';

const ADMIN = fileURLToPath(new URL('../../packages/admin/', import.meta.url));

describe.skipIf(!redisAvailability.available)('ringcast dashboard', () => {
  const deployment = useDeployment();
  const { redis } = deployment;
  const dashboards = useDashboards();

  it('serves the snapshot, the history, the events and the metrics of a live deployment', async () => {
    const namespace = uniqueNamespace();
    const a = await deployment.spawnWorker(namespace, { id: 'w-a', weight: 1 });
    const b = await deployment.spawnWorker(namespace, { id: 'w-b', weight: 3 });
    const dashboard = await dashboards.spawn({ redis: redis.url, namespace });
    const d = await deployment.dispatcher(namespace);
    await Promise.all(Array.from({ length: 40 }, (_, i) => d.dispatch('echo', { i })));
    await Promise.allSettled([d.dispatch('fail', { code: 'E_X' }), d.dispatch('fail', {})]);
    await d.submit('echo', 'later', { delayMs: 60_000 });

    const snapshot = await eventually(async () => {
      const s = await dashboard.snapshot();
      const latency = s.handlers.find((h) => h.name === 'echo')?.latency.count;
      return (
        s.totals.succeeded === 40 && s.totals.failed === 2 && s.durable.inUse && latency === 40 && s
      );
    });
    expect(snapshot).toMatchObject({
      namespace,
      redis: { url: redis.url, up: true, error: null, downSince: null },
      errors: { HANDLER_ERROR: 2 },
      durable: { inUse: true, waiting: 0, delayed: 1, active: 0 },
    });
    expect(snapshot.workers.map((w) => [w.id, w.state, w.weight.current, w.pid])).toEqual([
      ['w-a', 'live', 1, a.pid],
      ['w-b', 'live', 3, b.pid],
    ]);
    const wb = snapshot.workers[1]!;
    expect(wb).toMatchObject({
      load: { concurrency: 16, stuckSlots: 0 },
      heartbeat: { intervalMs: 200 },
      share: { weight: 0.75 },
    });
    expect(wb.heartbeat.ageMs).toBeGreaterThanOrEqual(0);
    expect(wb.execution.handlers.map((h) => h.name)).toContain('echo');
    const echo = snapshot.handlers.find((h) => h.name === 'echo');
    expect(echo).toMatchObject({
      succeeded: 40,
      workers: 2,
      execution: { count: 40 },
      dispatchers: 1,
      latency: { count: 40 },
    });
    // End to end takes the execution and the round trips through Redis around it.
    expect(echo!.latency.maxMs).toBeGreaterThan(0);
    expect(echo!.latency.p50Ms).toBeGreaterThanOrEqual(echo!.execution.p50Ms);
    expect(snapshot.handlers.find((h) => h.name === 'fail')?.latency.count).toBe(2);

    // The history: one sample a second, with the load in it. Latency per second is the
    // difference of a dispatcher's two reports: the dashboard has read one, so more calls show.
    await Promise.all(Array.from({ length: 20 }, (_, i) => d.dispatch('echo', { i })));
    const history = await eventually(async () => {
      const h = await dashboard.json<DashboardHistory>('/api/history');
      const latency = h.samples.some((s) => s.latencyP50Ms !== null && s.latencyP99Ms !== null);
      return latency && h.samples.some((s) => (s.tasksPerSecond ?? 0) > 0) && h;
    });
    expect(history).toMatchObject({ intervalMs: 1_000, spanMs: 900_000 });
    const ats = history.samples.map((s) => s.at);
    expect(ats).toEqual([...ats].sort((x, y) => x - y));

    // The events: the latest snapshot at once, then snapshots and samples as they come.
    const events = await readEvents(new URL('/events', dashboard.url).href);
    try {
      const seen: string[] = [];
      const first = await events.next();
      expect(first.event).toBe('snapshot');
      expect((first.data as DashboardSnapshot).namespace).toBe(namespace);
      while (!(seen.includes('snapshot') && seen.includes('sample'))) {
        seen.push((await events.next()).event);
      }
    } finally {
      events.close();
    }

    await eventually(async () => (await dashboard.snapshot()).totals.succeeded === 60);
    const metrics = await (await fetch(new URL('/metrics', dashboard.url))).text();
    for (const line of [
      'ringcast_dashboard_redis_up 1',
      'ringcast_fleet_workers{state="live"} 2',
      'ringcast_fleet_worker_weight{worker="w-b"} 3',
      'ringcast_fleet_handler_tasks{handler="echo",outcome="ok"} 60',
      'ringcast_fleet_handler_tasks{handler="fail",outcome="HANDLER_ERROR"} 2',
      'ringcast_fleet_durable_tasks{state="delayed"} 1',
    ]) {
      expect(metrics).toContain(`\n${line}\n`);
    }
    expect(metrics).toMatch(
      /\nringcast_fleet_worker_heartbeat_age_seconds\{worker="w-a"\} [\d.]+\n/,
    );
    expect(metrics).toMatch(
      /\nringcast_fleet_handler_latency_seconds\{handler="echo",quantile="0\.99"\} [\d.e-]+\n/,
    );
  });

  it('sends a snapshot at once when a worker says hello or leave, and shows a left worker gone', async () => {
    const namespace = uniqueNamespace();
    const dashboard = await dashboards.spawn({ redis: redis.url, namespace });
    const events = await readEvents(new URL('/events', dashboard.url).href);
    const stateOf = async (id: string) => {
      for (;;) {
        const { event, data } = await events.next();
        if (event !== 'snapshot') continue;
        const worker = (data as DashboardSnapshot).workers.find((w) => w.id === id);
        if (worker !== undefined) return worker.state;
      }
    };
    try {
      const worker = await deployment.spawnWorker(namespace, { id: 'w-hello' });
      expect(await stateOf('w-hello')).toBe('live');
      await worker.stop();
      await eventually(async () => (await stateOf('w-hello')) === 'gone');
    } finally {
      events.close();
    }
  });

  it('serves the page and its assets from the built package, which ships them', async () => {
    const namespace = uniqueNamespace();
    const dashboard = await dashboards.spawn({ redis: redis.url, namespace });
    const page = await fetch(dashboard.url);
    expect(page.status).toBe(200);
    const html = await page.text();
    const linked = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(linked).toEqual([
      '/assets/dashboard/page/dashboard.css',
      '/assets/dashboard/page/main.js',
    ]);
    // The page's modules and what they import, as the browser would fetch them.
    for (const path of [...linked, '/assets/dashboard/page/chart.js', '/assets/render/units.js']) {
      const asset = await fetch(new URL(path, dashboard.url));
      expect([path, asset.status]).toEqual([path, 200]);
      await asset.body?.cancel();
    }
    const files = await packedFiles(ADMIN);
    for (const file of ['index.html', 'dashboard.css', 'main.js', 'chart.js', 'dom.js']) {
      expect(files).toContain(`dist/dashboard/page/${file}`);
    }
    expect(files.filter((f) => f.includes('testing/'))).toEqual([]);
  });

  it('stops cleanly on SIGINT and on SIGTERM: exit 0', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const dashboard = await spawnDashboard({ redis: redis.url, namespace: uniqueNamespace() });
      const events = await readEvents(new URL('/events', dashboard.url).href);
      await events.next();
      dashboard.child.kill(signal);
      expect(await dashboard.exited).toEqual({ code: 0, signal: null });
      // An open event stream is ended, not left hanging.
      await expect(eventually(() => events.next().then(() => false), 5_000)).rejects.toThrow(
        /ended|terminated|abort/i,
      );
    }
  });

  it('answers only its own host names: a re-pointed DNS name gets 403 unless allowed with --allow-host', async () => {
    const namespace = uniqueNamespace();
    const plain = await dashboards.spawn({ redis: redis.url, namespace });
    const allowing = await dashboards.spawn({
      redis: redis.url,
      namespace,
      args: ['--allow-host', 'dash.example'],
    });
    const status = async (url: string, host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(new URL('/api/snapshot', url), { headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    const port = (url: string) => new URL(url).port;
    expect(await status(plain.url, `localhost:${port(plain.url)}`)).toBe(200);
    expect(await status(plain.url, `evil.example:${port(plain.url)}`)).toBe(403);
    expect(await status(plain.url, 'dash.example')).toBe(403);
    expect(await status(allowing.url, `dash.example:${port(allowing.url)}`)).toBe(200);
    expect(await status(allowing.url, 'evil.example')).toBe(403);
  });

  it('fails in one line when its port is taken (exit 1) or its arguments are wrong (exit 2)', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    try {
      const run = await runRingcast(['dashboard', '--port', String(port), '--redis', redis.url], {
        timeoutMs: 15_000,
      });
      expect(run).toEqual({
        code: 1,
        stdout: '',
        stderr: `ringcast: cannot listen on 127.0.0.1:${port}: the port is in use (try --port)\n`,
      });
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
    const bad = await runRingcast(['dashboard', '--port', 'http']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^ringcast: --port must be a port number .* \(see --help\)\n$/);
  });
});

describe.skipIf(!privateRedisAvailable)('ringcast dashboard on a private Redis', () => {
  const redis = usePrivateRedis();
  const dashboards = useDashboards();
  const workers: WorkerProcess[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill()));
  });

  it('only reads: works as the read-only admin user ringcast acl prints, tries nothing else, and shows no password', async () => {
    const namespace = uniqueNamespace();
    const admin = track(new Redis(redis.url));
    const password = 'dash-s3cret-pw';
    const acl = await runRingcast(
      ['acl', '--role', 'admin', '--read-only', '--namespace', namespace].concat([
        '--user',
        'dashboard',
        '--password-env',
        'DASHBOARD_PW',
        '--json',
      ]),
      { env: { DASHBOARD_PW: password } },
    );
    expect(acl).toMatchObject({ code: 0, stderr: '' });
    await admin.call('ACL', ...(JSON.parse(acl.stdout) as { args: string[] }).args);
    workers.push(await spawnWorker({ url: redis.url, namespace, id: 'w-ro' }));
    const url = redis.url.replace('redis://', `redis://dashboard:${password}@`);
    const dashboard = await dashboards.spawn({ redis: url, namespace });
    const snapshot = await eventually(async () => {
      const s = await dashboard.snapshot();
      return s.workers.length === 1 && s;
    });
    expect(snapshot.redis).toMatchObject({
      up: true,
      url: `redis://***@127.0.0.1:${redis.server.port}`,
    });
    // A worker leaving makes it read at once: its subscription works too.
    await workers[0]!.stop();
    await eventually(async () => (await dashboard.snapshot()).workers[0]?.state === 'gone');
    const seen = [
      dashboard.output(),
      JSON.stringify(await dashboard.snapshot()),
      await (await fetch(new URL('/metrics', dashboard.url))).text(),
      await (await fetch(dashboard.url)).text(),
    ].join('\n');
    expect(seen).not.toContain(password);
    // Redis logs every command it refused the user (ACL LOG alone shows the latest 10): none.
    expect(await admin.call('ACL', 'LOG', '1000')).toEqual([]);
    await admin.quit();
  });

  it.each(['text', 'json'] as const)(
    'shows a Redis outage, keeps serving, and recovers when Redis is back (--log-format %s)',
    async (format) => {
      const namespace = uniqueNamespace();
      workers.push(await spawnWorker({ url: redis.url, namespace, id: 'w-out' }));
      const dashboard = await dashboards.spawn({
        redis: redis.url,
        namespace,
        args: ['--log-format', format],
      });
      await eventually(async () => (await dashboard.snapshot()).workers.length === 1);

      await redis.server.kill();
      const down = await eventually(async () => {
        const s = await dashboard.snapshot();
        return !s.redis.up && s;
      });
      expect(down.redis).toMatchObject({
        up: false,
        error: expect.stringMatching(/no connection/),
      });
      expect(down.redis.downSince).toEqual(expect.any(Number));
      // The last figures stay; the history marks the gap.
      expect(down.workers.map((w) => w.id)).toEqual(['w-out']);
      await eventually(async () => {
        const h = await dashboard.json<DashboardHistory>('/api/history');
        return h.samples.at(-1)?.tasksPerSecond === null;
      });

      // Back, empty: the worker registers again and the dashboard reads it.
      await redis.server.restart();
      const back = await eventually(async () => {
        const s = await dashboard.snapshot();
        return s.redis.up && s.workers.some((w) => w.id === 'w-out' && w.state === 'live') && s;
      }, 20_000);
      expect(back.redis).toMatchObject({ error: null, downSince: null });
      expect(dashboard.child.exitCode).toBeNull();
      const lines = dashboard.output().trimEnd().split('\n');
      expect(lines.filter((l) => l.includes('cannot read Redis'))).toHaveLength(1);
      expect(lines.filter((l) => l.includes('Redis answers again'))).toHaveLength(1);
      if (format === 'json') {
        // Past the start line, every line is one JSON object with its level.
        const logged = lines
          .filter((l) => l.includes('"msg"'))
          .map((l) => JSON.parse(l) as { level: string; msg: string; name: string });
        expect(logged.map(({ level, name }) => [level, name])).toEqual([
          ['warn', 'ringcast-dashboard'],
          ['info', 'ringcast-dashboard'],
        ]);
      }
    },
  );
});
