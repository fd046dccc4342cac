/**
 * Execution stats and Prometheus metrics against a real Redis and real
 * `ringcast-worker` processes: the CLI's `/metrics`, a dispatcher's handler
 * mounted in an HTTP server, and a worker's published stats read by a
 * dispatcher that sent it nothing.
 */
import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDispatcher, type Dispatcher } from '@ringcast/dispatcher';
import { afterEach, describe, expect, it } from 'vitest';
import { redisAvailability, uniqueNamespace, useRedis } from './support/redis.js';
import { freePort } from './support/redis-server.js';
import { track } from './support/track.js';
import { spawnWorker, type WorkerProcess } from './support/workers.js';
import { eventually } from './worker/fake-dispatcher.js';

function fetchText(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }),
      );
    }).on('error', reject);
  });
}

describe.skipIf(!redisAvailability.available)('stats and metrics against real workers', () => {
  const redis = useRedis();
  const workers: WorkerProcess[] = [];
  const dispatchers: Dispatcher[] = [];

  afterEach(async () => {
    await Promise.all(dispatchers.splice(0).map((d) => d.close()));
    await Promise.all(workers.splice(0).map((w) => w.kill()));
  });

  async function dispatcher(namespace: string, metrics = false): Promise<Dispatcher> {
    const d = track(createDispatcher({ redis: redis.url, namespace, logger: false, metrics }));
    dispatchers.push(d);
    await d.start();
    await eventually(() => d.workers().length === workers.length, 10_000);
    return d;
  }

  it('serves the worker CLI metrics at /metrics, 404 elsewhere, and the dispatcher handler in an app server', async () => {
    const namespace = uniqueNamespace();
    const port = await freePort();
    workers.push(
      await spawnWorker({ url: redis.url, namespace, args: ['--metrics-port', String(port)] }),
    );
    const d = await dispatcher(namespace, true);
    await Promise.all(Array.from({ length: 20 }, (_, i) => d.dispatch('echo', { i })));
    await expect(d.dispatch('fail', { message: 'no' })).rejects.toMatchObject({
      code: 'HANDLER_ERROR',
    });

    const scraped = await fetchText(`http://127.0.0.1:${port}/metrics`);
    expect(scraped.status).toBe(200);
    expect(scraped.type).toMatch(/^text\/plain/);
    expect(scraped.body).toContain('ringcast_worker_tasks_total{handler="echo",outcome="ok"} 20');
    expect(scraped.body).toContain(
      'ringcast_worker_tasks_total{handler="fail",outcome="HANDLER_ERROR"} 1',
    );
    expect(scraped.body).toContain(
      'ringcast_worker_handler_duration_seconds_bucket{le="0.0001",handler="echo"}',
    );
    for (const name of ['ringcast_worker_inflight', 'ringcast_worker_stuck_slots']) {
      expect(scraped.body).toContain(`\n${name} `);
    }
    expect((await fetchText(`http://127.0.0.1:${port}/`)).status).toBe(404);

    // The application's own server, with the dispatcher's handler mounted at /metrics.
    const { handler } = d.metrics();
    const app = createServer((req, res) => {
      if (req.url === '/metrics') handler(req, res);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    try {
      const { port: appPort } = app.address() as AddressInfo;
      const own = await fetchText(`http://127.0.0.1:${appPort}/metrics`);
      expect(own.status).toBe(200);
      expect(own.body).toContain('ringcast_dispatcher_tasks_total{handler="echo",outcome="ok"} 20');
      expect(own.body).toContain(
        'ringcast_dispatcher_tasks_total{handler="fail",outcome="HANDLER_ERROR"} 1',
      );
      expect(own.body).toContain(
        'ringcast_dispatcher_task_duration_seconds_count{handler="echo"} 20',
      );
      expect(own.body).toContain('\nringcast_dispatcher_workers 1\n');
      for (const name of [
        'ringcast_dispatcher_inflight',
        'ringcast_dispatcher_queued',
        'ringcast_dispatcher_redeliveries_total',
      ]) {
        expect(own.body).toContain(`\n${name} 0\n`);
      }
    } finally {
      await new Promise((resolve) => app.close(resolve));
    }
    expect(d.stats().handlers['echo']).toMatchObject({ succeeded: 20, redelivered: 0 });
    expect(d.stats().handlers['echo']?.duration.count).toBe(20);
  });

  it('says so in one line, exit 1, when the metrics port is taken', async () => {
    const namespace = uniqueNamespace();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = blocker.address() as AddressInfo;
      const w = await spawnWorker({
        url: redis.url,
        namespace,
        args: ['--metrics-port', String(port)],
        waitReady: false,
      });
      const exit = await w.exited;
      expect(exit.code).toBe(1);
      const lines = w.output().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^ringcast-worker: cannot serve metrics on 127\.0\.0\.1:\d+: .*EADDRINUSE/,
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it("shows a worker's published execution stats in another dispatcher's stats()", async () => {
    const namespace = uniqueNamespace();
    const w = await spawnWorker({ url: redis.url, namespace });
    workers.push(w);
    const sender = await dispatcher(namespace);
    await Promise.all(Array.from({ length: 10 }, (_, i) => sender.dispatch('echo', { i })));
    const onlooker = await dispatcher(namespace);
    const report = await eventually(() => {
      const handlers = onlooker.stats().workerStats[w.id]?.handlers;
      return handlers?.['echo']?.succeeded === 10 ? handlers : undefined;
    }, 10_000);
    expect(report['echo']?.duration.count).toBe(10);
    expect(report['echo']?.duration.max).toBeGreaterThanOrEqual(report['echo']?.duration.p50 ?? 0);
    // The onlooker sent nothing itself.
    expect(onlooker.stats().handlers).toEqual({});
    expect(() => onlooker.metrics()).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });
});
