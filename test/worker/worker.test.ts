import {
  decode,
  encode,
  PROTOCOL_VERSION,
  parseWorkerInfo,
  type ResultMessage,
} from '@ringcast/protocol';
import { createWorker, type Handler, type Worker, type WorkerOptions } from '@ringcast/worker';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { redisAvailability, uniqueNamespace, useRedis } from '../support/redis.js';
import { track } from '../support/track.js';
import { eventually, FakeDispatcher, gate } from './fake-dispatcher.js';

describe.skipIf(!redisAvailability.available)('worker against a real Redis', () => {
  const redis = useRedis();
  let namespace: string;
  let fake: FakeDispatcher;
  let workers: Worker[];

  beforeEach(async () => {
    namespace = uniqueNamespace();
    workers = [];
    fake = await FakeDispatcher.create(redis.url, namespace);
  });

  afterEach(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await fake.close();
  });

  async function startWorker(
    handlers: Record<string, Handler>,
    options: Partial<WorkerOptions> = {},
  ): Promise<Worker> {
    const worker = track(
      createWorker({
        redis: redis.url,
        namespace,
        handlers,
        logger: false,
        heartbeatIntervalMs: 100,
        heartbeatTtlMs: 500,
        ...options,
      }),
    );
    workers.push(worker);
    await worker.start();
    return worker;
  }

  it('registers, beats, and announces itself on start', async () => {
    const worker = await startWorker({ echo: (p) => p }, { concurrency: 3, weight: 7 });
    const info = worker.info();
    const stored = await fake.command.hget(fake.names.registryKey, worker.id);
    expect(parseWorkerInfo(JSON.parse(stored!))).toEqual(info);
    expect(info).toMatchObject({ weight: 7, concurrency: 3, handlers: ['echo'], pid: process.pid });
    expect(info.startedAt).toBeGreaterThan(0);
    expect(await fake.command.get(fake.names.heartbeatKey(worker.id))).toBe(info.incarnation);
    const hello = await fake.next((m) => m.kind === 'hello');
    expect(hello).toEqual({ kind: 'hello', worker: info });

    // The heartbeat rewrites both, so a Redis that lost them heals.
    await fake.command.del(fake.names.registryKey, fake.names.heartbeatKey(worker.id));
    await eventually(
      async () => (await fake.command.get(fake.names.heartbeatKey(worker.id))) === info.incarnation,
    );
    expect(await fake.command.hexists(fake.names.registryKey, worker.id)).toBe(1);
    expect(await fake.command.pttl(fake.names.heartbeatKey(worker.id))).toBeGreaterThan(0);
  });

  it('gives every worker a fresh incarnation', async () => {
    const a = await startWorker({ echo: (p) => p }, { id: 'same-id' });
    const first = a.info().incarnation;
    await a.close();
    const b = await startWorker({ echo: (p) => p }, { id: 'same-id' });
    expect(b.info().incarnation).not.toBe(first);
  });

  it('runs a task and replies: a quick result stands in for the ack', async () => {
    const worker = await startWorker({ echo: (p) => p });
    const task = fake.task('echo', { hello: 'world', n: [1, 2] });
    expect(await fake.send(worker.id, task)).toBe(1);
    const result = await fake.reply('result', task.token);
    expect(result).toEqual({
      kind: 'result',
      id: task.id,
      token: task.token,
      worker: worker.id,
      incarnation: worker.info().incarnation,
      ok: true,
      value: { hello: 'world', n: [1, 2] },
    });
    expect(fake.repliesFor(task.token).map((m) => m.kind)).toEqual(['result']);
    expect(worker.stats()).toMatchObject({ received: 1, acked: 0, succeeded: 1, failed: 0 });
  });

  it('acks a slow task first, then sends its result; ctx carries the task', async () => {
    const release = gate();
    const seen: unknown[] = [];
    const worker = await startWorker({
      slow: async (_p, ctx) => {
        seen.push({ ...ctx, signal: ctx.signal.aborted });
        await release.promise;
        return 'done';
      },
    });
    const task = fake.task('slow', undefined, { attempt: 3 });
    await fake.send(worker.id, task);
    const ack = await fake.reply('ack', task.token);
    expect(ack).toEqual({
      kind: 'ack',
      id: task.id,
      token: task.token,
      worker: worker.id,
      incarnation: worker.info().incarnation,
    });
    expect(worker.stats()).toMatchObject({ inflight: 1, queued: 0, acked: 1 });
    release.open();
    expect(await fake.reply('result', task.token)).toMatchObject({ ok: true, value: 'done' });
    expect(fake.repliesFor(task.token).map((m) => m.kind)).toEqual(['ack', 'result']);
    expect(seen).toEqual([
      { taskId: task.id, attempt: 3, deadline: task.deadline, signal: false, workerId: worker.id },
    ]);
  });

  it('serialises handler errors and non-Error throws', async () => {
    const worker = await startWorker({
      fail: () => {
        throw Object.assign(new RangeError('too far'), { retryable: true, code: 'E_FAR' });
      },
      reject: async () => Promise.reject('just a string'),
      bigint: () => 10n,
      fn: () => () => 1,
      symbol: () => Symbol('s'),
    });
    const [a, b, c] = [fake.task('fail'), fake.task('reject'), fake.task('bigint')];
    const [d, e] = [fake.task('fn'), fake.task('symbol')];
    await fake.send(worker.id, a, b, c, d, e);
    expect(await fake.reply('result', a.token)).toMatchObject({
      ok: false,
      error: { name: 'RangeError', message: 'too far', retryable: true, code: 'E_FAR' },
    });
    expect(await fake.reply('result', b.token)).toMatchObject({
      ok: false,
      error: { name: 'NonError', message: 'just a string', retryable: false },
    });
    expect(await fake.reply('result', c.token)).toMatchObject({
      ok: false,
      error: { name: 'TypeError', retryable: false },
    });
    // JSON would drop them, and the caller would get undefined for a value the handler gave.
    for (const [task, kind] of [
      [d, 'function'],
      [e, 'symbol'],
    ] as const) {
      expect(await fake.reply('result', task.token)).toMatchObject({
        ok: false,
        error: {
          name: 'TypeError',
          message: `handler result is not JSON-serialisable: a ${kind} has no JSON form`,
          retryable: false,
        },
      });
    }
    expect(worker.stats()).toMatchObject({ succeeded: 0, failed: 5 });
  });

  it('never runs more than `concurrency` handlers at once', async () => {
    let running = 0;
    let most = 0;
    const worker = await startWorker(
      {
        work: async () => {
          running++;
          most = Math.max(most, running);
          await new Promise((r) => setTimeout(r, 5));
          running--;
          return most;
        },
      },
      { concurrency: 3, maxQueue: 50 },
    );
    const tasks = Array.from({ length: 30 }, () => fake.task('work'));
    // Half in one frame, half one by one: both paths must respect the limit.
    await fake.send(worker.id, ...tasks.slice(0, 15));
    await Promise.all(tasks.slice(15).map((t) => fake.send(worker.id, t)));
    const results = await Promise.all(tasks.map((t) => fake.reply('result', t.token)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(most).toBe(3);
    expect(worker.stats()).toMatchObject({ succeeded: 30, inflight: 0, queued: 0 });
  });

  it('nacks BUSY beyond concurrency + maxQueue, and runs the ones it took', async () => {
    const release = gate();
    const worker = await startWorker(
      { block: () => release.promise.then(() => 'ok') },
      { concurrency: 1, maxQueue: 1 },
    );
    const [a, b, c] = [fake.task('block'), fake.task('block'), fake.task('block')];
    await fake.send(worker.id, a, b, c);
    const nack = await fake.reply('nack', c.token);
    expect(nack).toMatchObject({ reason: 'BUSY', worker: worker.id, id: c.id });
    await fake.reply('ack', a.token);
    await fake.reply('ack', b.token);
    expect(worker.stats()).toMatchObject({ inflight: 1, queued: 1 });
    expect(worker.stats().nacked.BUSY).toBe(1);
    release.open();
    await fake.reply('result', a.token);
    await fake.reply('result', b.token);
    expect(fake.repliesFor(c.token)).toHaveLength(1);
  });

  it('nacks UNKNOWN_HANDLER (inherited names included) and EXPIRED without running', async () => {
    let runs = 0;
    const worker = await startWorker({
      echo: (p) => {
        runs++;
        return p;
      },
    });
    const unknown = fake.task('nope');
    const inherited = fake.task('toString');
    const expired = fake.task('echo', 1, { deadline: Date.now() - 1 });
    await fake.send(worker.id, unknown, inherited, expired);
    expect(await fake.reply('nack', unknown.token)).toMatchObject({ reason: 'UNKNOWN_HANDLER' });
    expect(await fake.reply('nack', inherited.token)).toMatchObject({ reason: 'UNKNOWN_HANDLER' });
    expect(await fake.reply('nack', expired.token)).toMatchObject({ reason: 'EXPIRED' });
    expect(runs).toBe(0);
    expect(worker.stats().nacked).toMatchObject({ UNKNOWN_HANDLER: 2, EXPIRED: 1 });
  });

  it('cancel aborts a running handler’s signal, and a queued task never runs', async () => {
    const started = gate();
    const block = gate();
    const ran: string[] = [];
    let reason: unknown;
    const worker = await startWorker(
      {
        wait: (_p, ctx) =>
          new Promise((_resolve, reject) => {
            ran.push(ctx.taskId);
            started.open();
            ctx.signal.addEventListener('abort', () => {
              reason = ctx.signal.reason;
              reject(ctx.signal.reason);
            });
          }),
        block: (_p, ctx) => {
          ran.push(ctx.taskId);
          return block.promise;
        },
      },
      { concurrency: 1 },
    );
    const running = fake.task('wait');
    await fake.send(worker.id, running);
    await started.promise;
    await fake.send(worker.id, { kind: 'cancel', id: running.id, token: running.token });
    const result = await fake.reply('result', running.token);
    expect(result).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    expect(reason).toMatchObject({ code: 'CANCELLED' });

    const blocker = fake.task('block');
    const queued = fake.task('wait');
    const after = fake.task('block');
    await fake.send(worker.id, blocker, queued);
    await fake.reply('ack', queued.token);
    await fake.send(worker.id, { kind: 'cancel', id: queued.id, token: queued.token });
    await fake.send(worker.id, after);
    await fake.reply('ack', after.token);
    block.open();
    await fake.reply('result', after.token);
    expect(ran).toEqual([running.id, blocker.id, after.id]);
    expect(fake.repliesFor(queued.token).map((m) => m.kind)).toEqual(['ack']);
    expect(worker.stats().cancelled).toBe(2);
  });

  it('cancelled queued tasks free their slot but cannot pile up in the queue', async () => {
    const release = gate();
    const worker = await startWorker(
      { block: () => release.promise, echo: (p) => p },
      { concurrency: 1, maxQueue: 1 },
    );
    const blocker = fake.task('block');
    await fake.send(worker.id, blocker);
    await fake.reply('ack', blocker.token);
    // Capacity is 2; cancelled entries may hold at most 2 × 2 places in the slot queue.
    for (let i = 0; i < 4; i++) {
      const task = fake.task('echo', i);
      await fake.send(worker.id, task);
      await fake.reply('ack', task.token);
      await fake.send(worker.id, { kind: 'cancel', id: task.id, token: task.token });
      await eventually(() => worker.stats().queued === 0);
    }
    const refused = fake.task('echo');
    await fake.send(worker.id, refused);
    expect(await fake.reply('nack', refused.token)).toMatchObject({ reason: 'BUSY' });
    release.open();
    await fake.reply('result', blocker.token);
    const accepted = fake.task('echo', 'after');
    await fake.send(worker.id, accepted);
    expect(await fake.reply('result', accepted.token)).toMatchObject({ value: 'after' });
    expect(worker.stats()).toMatchObject({ cancelled: 4, succeeded: 2 });
  });

  it('aborts the signal at the deadline', async () => {
    const worker = await startWorker({
      wait: (_p, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
        }),
    });
    const task = fake.task('wait', undefined, { deadline: Date.now() + 150 });
    await fake.send(worker.id, task);
    const result = await fake.reply('result', task.token);
    expect(result).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
    expect(Date.now()).toBeGreaterThanOrEqual(task.deadline);
  });

  it('survives invalid bytes, forbidden keys, oversized frames and wrong kinds, counting each', async () => {
    const lines: string[] = [];
    const logger = {
      info() {},
      warn: (m: string) => lines.push(m),
      error: (m: string) => lines.push(m),
    };
    const worker = await startWorker({ echo: (p) => p }, { maxMessageBytes: 8192, logger });
    const poisoned = fake.task('echo');
    const forged =
      `{"v":${PROTOCOL_VERSION},"m":[{"kind":"task","id":"${poisoned.id}","attempt":1,"token":"${poisoned.token}",` +
      `"handler":"echo","deadline":${poisoned.deadline},"replyTo":"${fake.id}",` +
      `"payload":{"__proto__":{"polluted":true}}}]}`;
    const inputs: Array<string | Buffer> = [
      'not json',
      Buffer.from([0xff, 0xfe, 0x00, 0x7b]),
      '{"v":2,"m":[]}',
      '[]',
      forged,
      encode([fake.task('echo', 'x'.repeat(9000))]),
      encode([{ kind: 'ack', id: 'x', token: 'y', worker: 'z' }]),
    ];
    for (const input of inputs) await fake.sendRaw(worker.id, input);
    // The forged task carries enough to be answered: it is nacked, not run.
    expect(await fake.reply('nack', poisoned.token)).toMatchObject({ reason: 'INVALID_MESSAGE' });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();

    const valid = fake.task('echo', 'still here');
    await fake.send(worker.id, valid);
    expect(await fake.reply('result', valid.token)).toMatchObject({
      ok: true,
      value: 'still here',
    });
    const stats = worker.stats();
    expect(stats.invalid).toBe(inputs.length);
    expect(stats.nacked.INVALID_MESSAGE).toBe(1);
    expect(stats.received).toBe(1);
    // Rate-limited: one line for the burst, not one per message.
    expect(lines.filter((l) => l.includes('invalid'))).toHaveLength(1);
  });

  it('runs a re-sent attempt once: acks again while running, re-sends the result after', async () => {
    const release = gate();
    let runs = 0;
    const worker = await startWorker({
      once: async (p) => {
        runs++;
        await release.promise;
        return p;
      },
    });
    const task = fake.task('once', 42);
    await fake.send(worker.id, task);
    await fake.reply('ack', task.token);
    await fake.send(worker.id, task);
    await eventually(
      () => fake.repliesFor(task.token).filter((r) => r.kind === 'ack').length === 2,
    );
    release.open();
    await fake.reply('result', task.token);
    await fake.send(worker.id, task);
    await eventually(
      () => fake.repliesFor(task.token).filter((r) => r.kind === 'result').length === 2,
    );
    const results = fake
      .repliesFor(task.token)
      .filter((r): r is ResultMessage => r.kind === 'result');
    expect(results[1]).toEqual(results[0]);
    expect(runs).toBe(1);
    expect(worker.stats()).toMatchObject({ received: 3, duplicates: 2, succeeded: 1 });
  });

  it('parks a reply nobody hears, where its dispatcher finds it', async () => {
    const worker = await startWorker({ echo: (p) => p }, { parkTtlMs: 30_000 });
    const absent = `d-absent-${Date.now()}`;
    const task = fake.task('echo', 'parked value', { replyTo: absent });
    await fake.send(worker.id, task);
    const key = fake.names.parkedKey(absent);
    const frames = await eventually(async () => {
      const list = await fake.command.lrange(key, 0, -1);
      return list.length > 0 ? list : undefined;
    });
    const decoded = decode(frames[0]!);
    expect(decoded.ok && decoded.messages).toEqual([
      {
        kind: 'result',
        id: task.id,
        token: task.token,
        worker: worker.id,
        incarnation: worker.info().incarnation,
        ok: true,
        value: 'parked value',
      },
    ]);
    const ttl = await fake.command.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30_000);
    expect(worker.stats().parked).toBe(1);
  });

  it('trims the parked list to maxParked', async () => {
    const worker = await startWorker({ echo: (p) => p }, { maxParked: 2 });
    const absent = `d-absent-${Date.now()}`;
    for (let i = 0; i < 4; i++) {
      const task = fake.task('echo', i, { replyTo: absent });
      await fake.send(worker.id, task);
      await eventually(() => worker.stats().parked === i + 1);
    }
    const frames = await fake.command.lrange(fake.names.parkedKey(absent), 0, -1);
    const values = frames.map((f) => {
      const d = decode(f);
      return d.ok ? (d.messages[0] as { value?: unknown }).value : undefined;
    });
    expect(values).toEqual([2, 3]);
  });

  /** A worker whose `slow` handler signals `started` and holds until `release` opens. */
  async function startHeldWorker(options: Partial<WorkerOptions>) {
    const started = gate();
    const release = gate();
    const worker = await startWorker(
      {
        slow: async () => {
          started.open();
          await release.promise;
          return 'finished';
        },
      },
      { concurrency: 1, ...options },
    );
    return { worker, started, release };
  }

  it('close() leaves first, nacks DRAINING, lets running handlers finish and delivers them', async () => {
    const { worker, started, release } = await startHeldWorker({});
    const { incarnation } = worker.info();
    const running = fake.task('slow');
    const queued = fake.task('slow');
    await fake.send(worker.id, running, queued);
    await started.promise;
    await fake.reply('ack', queued.token);

    const closing = worker.close();
    const leave = await fake.next((m) => m.kind === 'leave');
    expect(leave).toEqual({ kind: 'leave', id: worker.id, incarnation });
    expect(await fake.reply('nack', queued.token)).toMatchObject({ reason: 'DRAINING' });
    await eventually(
      async () => (await fake.command.hexists(fake.names.registryKey, worker.id)) === 0,
    );
    expect(await fake.command.exists(fake.names.heartbeatKey(worker.id))).toBe(0);

    const late = fake.task('slow');
    await fake.send(worker.id, late);
    expect(await fake.reply<'nack'>('nack', late.token)).toMatchObject({ reason: 'DRAINING' });

    release.open();
    await closing;
    expect(await fake.reply('result', running.token)).toMatchObject({
      ok: true,
      value: 'finished',
    });
    expect(worker.stats().nacked.DRAINING).toBe(2);
    // Closed means unsubscribed: nobody hears the worker channel any more.
    expect(await fake.sendRaw(worker.id, 'x')).toBe(0);
    await worker.close();
  });

  it('close() nacks queued attempts DRAINING in the order they arrived', async () => {
    const { worker, started, release } = await startHeldWorker({ maxQueue: 200 });
    const running = fake.task('slow');
    const queued = Array.from({ length: 150 }, () => fake.task('slow'));
    await fake.send(worker.id, running, ...queued);
    await started.promise;
    const closing = worker.close();
    await fake.reply('nack', queued.at(-1)!.token);
    const nacked = fake.replies
      .filter((m) => m.kind === 'nack')
      .map((m) => (m as { token: string }).token);
    expect(nacked).toEqual(queued.map((t) => t.token));
    release.open();
    await closing;
  });

  it('close() aborts handlers that outlive the drain timeout, with reason CLOSED', async () => {
    const started = gate();
    const worker = await startWorker(
      {
        stuck: (_p, ctx) =>
          new Promise((_resolve, reject) => {
            started.open();
            ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
          }),
      },
      { drainTimeoutMs: 100 },
    );
    const task = fake.task('stuck');
    await fake.send(worker.id, task);
    await started.promise;
    const t0 = Date.now();
    await worker.close();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    expect(await fake.reply('result', task.token)).toMatchObject({
      ok: false,
      error: { code: 'CLOSED' },
    });
  });

  it('uses a client it is given without closing it; close before start is a no-op', async () => {
    const client = track(new Redis(redis.url));
    const worker = await startWorker({ echo: (p) => p }, { redis: client });
    const task = fake.task('echo', 'via client');
    await fake.send(worker.id, task);
    expect(await fake.reply('result', task.token)).toMatchObject({ value: 'via client' });
    await worker.close();
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
    await client.quit();

    const idle = track(createWorker({ redis: redis.url, namespace, handlers: { echo: (p) => p } }));
    await idle.close();
    await expect(idle.start()).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('start() fails cleanly when Redis is unreachable', async () => {
    const worker = track(
      createWorker({
        redis: { host: '127.0.0.1', port: 1, retryStrategy: () => null },
        namespace,
        handlers: { echo: (p) => p },
        logger: false,
      }),
    );
    await expect(worker.start()).rejects.toMatchObject({ code: 'REDIS_ERROR' });
    await worker.close();
  });

  it('supports await using', async () => {
    let id: string;
    {
      await using worker = await startWorker({ echo: (p) => p });
      id = worker.id;
    }
    expect(await fake.command.hexists(fake.names.registryKey, id)).toBe(0);
  });
});
