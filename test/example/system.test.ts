// The example application end to end through startSystem(): a private redis-server, real
// `ringcast-worker` processes and the HTTP API, called as a client would call it.
import { execFileSync } from 'node:child_process';
import {
  REDIS_SERVER_MISSING,
  runLoad,
  type System,
  startSystem,
  TRANSIENT_CODES,
} from '@ringcast/example-http-api';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, portAnswers } from '../support/processes.js';
import { privateRedisAvailable } from '../support/redis.js';
import { startRedisServer } from '../support/redis-server.js';
import { track } from '../support/track.js';
import { eventually } from '../worker/fake-dispatcher.js';

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

async function call(base: string, method: string, path: string, body?: unknown): Promise<Reply> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // /metrics is text
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

function errorOf(reply: Reply): {
  code: string;
  message: string;
  remote?: Record<string, unknown>;
} {
  return reply.body['error'] as { code: string; message: string };
}

describe.skipIf(!privateRedisAvailable)('example application: startSystem()', () => {
  let system: System;
  const api = (method: string, path: string, body?: unknown) =>
    call(system.apiUrl, method, path, body);
  /** Every pid the system had, to prove stop() left none behind. */
  const pids = new Set<number>();
  const notePids = () => {
    if (system.redisPid !== undefined) pids.add(system.redisPid);
    for (const id of system.workers) pids.add(system.worker(id)!.pid);
  };

  beforeAll(async () => {
    system = await startSystem();
    notePids();
  });
  afterAll(() => system?.stop());

  it('starts a private redis-server, workers of weights 1, 2 and 3, and the API', async () => {
    expect(system.redisUrl).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(system.namespace).toBe('ringcast');
    expect(system.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(system.workers).toEqual(['worker-1', 'worker-2', 'worker-3']);
    expect(system.workers.map((id) => system.worker(id)?.weight)).toEqual([1, 2, 3]);
    expect(isAlive(system.redisPid!)).toBe(true);
    const health = await api('GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok', workers: 3 });
  });

  it('POST /thumbnails renders the same thumbnail for the same request, whichever worker runs it', async () => {
    const first = await api('POST', '/thumbnails', { image: 'photos/beach.jpg', width: 320 });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ image: 'photos/beach.jpg', width: 320, height: 320 });
    expect(system.workers).toContain(first.body['worker']);
    const again = await Promise.all(
      Array.from({ length: 6 }, () =>
        api('POST', '/thumbnails', { image: 'photos/beach.jpg', width: 320 }),
      ),
    );
    for (const reply of again) {
      expect(reply.body['etag']).toBe(first.body['etag']);
      expect(reply.body['bytes']).toBe(first.body['bytes']);
    }
    const other = await api('POST', '/thumbnails', {
      image: 'photos/beach.jpg',
      width: 320,
      height: 200,
    });
    expect(other.body['etag']).not.toBe(first.body['etag']);
  });

  it('POST /mail delivers, retries a greylisted recipient, and reports a bounce as 502', async () => {
    const plain = await api('POST', '/mail', { to: 'ada@example.com', subject: 'Hello' });
    expect(plain.status).toBe(200);
    expect(plain.body).toMatchObject({ to: 'ada@example.com', attempt: 1 });
    expect(plain.body['messageId']).toMatch(/^<[0-9a-f]{24}@mail\.ringcast\.example>$/);

    const greylisted = await api('POST', '/mail', { to: 'bob@greylist.example', subject: 'Hi' });
    expect(greylisted.status).toBe(200);
    expect(greylisted.body['attempt']).toBe(2);

    const bounced = await api('POST', '/mail', { to: 'eve@nowhere.invalid', subject: 'Hi' });
    expect(bounced.status).toBe(502);
    expect(errorOf(bounced).code).toBe('HANDLER_ERROR');
    expect(errorOf(bounced).remote).toMatchObject({
      code: 'MAILBOX_UNAVAILABLE',
      retryable: false,
    });
  });

  it('POST /reports answers 202 with an id at once; GET /reports/:id shows it built', async () => {
    const submitted = await api('POST', '/reports', { kind: 'sales', days: 14 });
    expect(submitted.status).toBe(202);
    const id = submitted.body['id'] as string;
    expect(submitted.headers.get('location')).toBe(`/reports/${id}`);
    const done = await eventually(async () => {
      const reply = await api('GET', `/reports/${id}`);
      expect(reply.status).toBe(200);
      return reply.body['state'] === 'succeeded' && reply.body;
    });
    expect(done).toMatchObject({ id, handler: 'report.build', attempts: 1 });
    expect(done['result']).toMatchObject({ kind: 'sales', days: 14 });

    const unknown = await api('GET', '/reports/no-such-report');
    expect(unknown.status).toBe(404);
    expect(errorOf(unknown).code).toBe('NOT_FOUND');
  });

  it.each([
    ['POST', '/thumbnails', 'not json', 'INVALID_JSON', /not valid JSON/],
    ['POST', '/thumbnails', '', 'INVALID_INPUT', /empty/],
    ['POST', '/thumbnails', [1, 2], 'INVALID_INPUT', /JSON object/],
    ['POST', '/thumbnails', { image: 'a.jpg', width: 5000 }, 'INVALID_INPUT', /"width"/],
    ['POST', '/thumbnails', { image: '../etc/passwd', width: 64 }, 'INVALID_INPUT', /"image"/],
    ['POST', '/thumbnails', { image: 'a.jpg', width: 64, crop: 1 }, 'INVALID_INPUT', /"crop"/],
    ['POST', '/mail', { to: 'nobody', subject: 'x' }, 'INVALID_INPUT', /"to"/],
    ['POST', '/mail', { to: 'a@example.com' }, 'INVALID_INPUT', /"subject"/],
    ['POST', '/reports', { kind: 'weather', days: 3 }, 'INVALID_INPUT', /"kind"/],
    ['POST', '/reports', { kind: 'sales', days: 0 }, 'INVALID_INPUT', /"days"/],
    ['GET', '/reports/not%20an%20id', undefined, 'INVALID_INPUT', /report id/],
    ['GET', '/reports/%E0%A4%A', undefined, 'INVALID_INPUT', /not a valid path/],
  ])('%s %s with bad input %j answers 400 %s', async (method, path, body, code, message) => {
    const reply = await api(method, path, body);
    expect(reply.status).toBe(400);
    expect(errorOf(reply).code).toBe(code);
    expect(errorOf(reply).message).toMatch(message);
  });

  it('answers 413 to a body over 64 KiB, 404 to an unknown path, 405 to a wrong method', async () => {
    const huge = await api('POST', '/thumbnails', { image: 'a.jpg', pad: 'x'.repeat(70_000) });
    expect(huge.status).toBe(413);
    expect(errorOf(huge).code).toBe('BODY_TOO_LARGE');
    expect((await api('GET', '/nowhere')).status).toBe(404);
    const wrong = await api('GET', '/thumbnails');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
  });

  it('serves the dispatcher metrics at /metrics', async () => {
    const reply = await api('GET', '/metrics');
    expect(reply.status).toBe(200);
    expect(reply.text).toMatch(
      /^ringcast_dispatcher_tasks_total\{handler="thumbnail\.render",outcome="ok"\} [1-9]/m,
    );
    expect(reply.text).toMatch(/^ringcast_dispatcher_workers 3$/m);
  });

  it('adds a worker serving its own /metrics, and drains it on SIGTERM', async () => {
    const id = await system.addWorker({ weight: 2, metricsPort: 0 });
    expect(id).toBe('worker-4');
    notePids();
    const worker = system.worker(id)!;
    expect(worker.concurrency).toBe(16);
    expect((await api('GET', '/health')).body['workers']).toBe(4);
    const metricsUrl = await eventually(() => system.worker(id)?.metricsUrl);
    const metrics = await fetch(metricsUrl);
    expect(await metrics.text()).toMatch(/^ringcast_worker_inflight /m);

    await system.killWorker(id, 'SIGTERM');
    expect(isAlive(worker.pid)).toBe(false);
    expect(system.workers).not.toContain(id);
    expect(system.worker(id)).toBeUndefined();
    // A drained worker leaves the registry at once rather than when its heartbeat lapses.
    await eventually(async () => (await api('GET', '/health')).body['workers'] === 3);
  });

  it('loses no request when a worker is killed with SIGKILL under load', async () => {
    const victim = system.worker('worker-3')!;
    const dispatchedBefore = system.dispatcher.stats().dispatched;
    const load = runLoad({
      apiUrl: system.apiUrl,
      durationMs: 3_000,
      rate: 80,
      concurrency: 64,
      reportWaitMs: 15_000,
    });
    await eventually(() => system.dispatcher.stats().dispatched >= dispatchedBefore + 40);
    await system.killWorker('worker-3');
    expect(isAlive(victim.pid)).toBe(false);
    const summary = await load;

    // Every request got an answer: as intended, or a documented "try again" (503/504).
    const { ok, intended, transient, unexpected } = summary.outcomes;
    expect(summary.unexpected).toEqual([]);
    expect(unexpected).toBe(0);
    expect(ok + intended + transient).toBe(summary.sent);
    expect(summary.sent).toBeGreaterThan(100);
    for (const code of Object.keys(summary.transient)) expect(TRANSIENT_CODES).toContain(code);
    // Every report submitted was built, the killed worker's included.
    expect(summary.reports.unfinished).toBe(0);
    expect(summary.reports.failed).toBe(0);
    expect(summary.reports.succeeded).toBe(summary.reports.submitted);
    expect(Object.keys(summary.servedBy)).toEqual(
      expect.arrayContaining(['worker-1', 'worker-2', 'worker-3']),
    );
    expect(system.workers).toEqual(['worker-1', 'worker-2']);
    await eventually(async () => (await api('GET', '/health')).body['workers'] === 2);
  });

  it('stop() ends every process it started, by pid, and the API; a second stop() is a no-op', async () => {
    const redisPort = Number(new URL(system.redisUrl).port);
    const apiPort = Number(new URL(system.apiUrl).port);
    expect(pids.size).toBe(5); // redis-server and worker-1 … worker-4
    await system.stop();
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    expect(await portAnswers(redisPort)).toBe(false);
    expect(await portAnswers(apiPort)).toBe(false);
    expect(system.workers).toEqual([]);
    await system.stop();
    await expect(system.addWorker()).rejects.toThrow(/stopped/);
  });
});

describe.skipIf(!privateRedisAvailable)('example application: startSystem() options', () => {
  it('uses the Redis it is given, in a namespace of its own, and hands it back without that namespace', async () => {
    const redis = await startRedisServer();
    const client = track(new Redis(redis.url));
    try {
      const system = await startSystem({ redisUrl: redis.url, workers: [{ id: 'solo' }] });
      try {
        expect(system.redisUrl).toBe(redis.url);
        expect(system.redisPid).toBeUndefined();
        expect(system.namespace).toMatch(/^example-[0-9a-f]{8}$/);
        expect(system.workers).toEqual(['solo']);
        const reply = await call(system.apiUrl, 'POST', '/thumbnails', {
          image: 'a.jpg',
          width: 16,
        });
        expect(reply.body['worker']).toBe('solo');
        const submitted = await call(system.apiUrl, 'POST', '/reports', { kind: 'sales', days: 1 });
        expect(submitted.status).toBe(202);
        expect(await client.keys(`${system.namespace}:*`)).not.toEqual([]);
      } finally {
        await system.stop();
      }
      expect(await client.keys(`${system.namespace}:*`)).toEqual([]);
      expect(await client.ping()).toBe('PONG');
    } finally {
      await client.quit();
      await redis.stop();
    }
  });

  it('refuses at once, starting nothing, without redis-server on the PATH or a Redis URL', async () => {
    const path = process.env['PATH'];
    process.env['PATH'] = '';
    try {
      await expect(startSystem()).rejects.toThrow(REDIS_SERVER_MISSING);
    } finally {
      process.env['PATH'] = path;
    }
  });

  it('stops what it started when a worker cannot start', async () => {
    const error = await startSystem({ workers: [{ id: 'good' }, { id: 'bad id!' }] }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/worker bad id! exited before it joined/);
    // Its redis-server and its good worker were children of this process, and are gone.
    expect(childProcesses().filter((args) => /redis-server|ringcast-worker/.test(args))).toEqual(
      [],
    );
  });
});

/** The command lines of this process's children. */
function childProcesses(): string[] {
  try {
    const ps = execFileSync('ps', ['--ppid', String(process.pid), '-o', 'args='], {
      encoding: 'utf8',
    });
    return ps.split('\n').filter(Boolean);
  } catch {
    return []; // ps exits 1 when it lists nothing
  }
}
