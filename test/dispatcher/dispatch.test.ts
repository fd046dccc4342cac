import { fileURLToPath } from 'node:url';
import {
  createDispatcher,
  type DispatchError,
  type Dispatcher,
  ErrorCode,
} from '@ringcast/dispatcher';
import { encode, names, type WorkerInfo } from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  privateRedisAvailable,
  redisAvailability,
  uniqueNamespace,
  usePrivateRedis,
  useRedis,
} from '../support/redis.js';
import { registerByHand } from '../support/registry.js';
import { rejection } from '../support/rejection.js';
import { track } from '../support/track.js';
import { spawnWorker, type WorkerProcess } from '../support/workers.js';

const HANDLERS = fileURLToPath(new URL('../fixtures/ring-handlers.js', import.meta.url));

interface Tasks {
  [name: string]: { payload: unknown; result: unknown };
  whoami: {
    payload: { i?: number; ms?: number; holdOn?: string };
    result: { worker: string; attempt: number; payload: unknown };
  };
  echo: { payload: unknown; result: unknown };
}

describe.skipIf(!redisAvailability.available)('dispatcher against real workers', () => {
  const redis = useRedis();
  const workers: WorkerProcess[] = [];

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill()));
  });

  async function worker(namespace: string, extra: Partial<Parameters<typeof spawnWorker>[0]> = {}) {
    const w = await spawnWorker({ url: redis.url, namespace, handlers: HANDLERS, ...extra });
    workers.push(w);
    return w;
  }

  async function dispatcher(
    namespace: string,
    options: Parameters<typeof createDispatcher>[0] = {},
  ) {
    const d = track(
      createDispatcher<Tasks>({ redis: redis.url, namespace, logger: false, ...options }),
    );
    await d.start();
    return d;
  }

  async function untilWorkers(d: Dispatcher<Tasks>, n: number): Promise<void> {
    const until = Date.now() + 10_000;
    while (d.workers().filter((w) => w.healthy).length < n) {
      if (Date.now() > until) throw new Error(`expected ${n} workers, saw ${d.workers().length}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** A registry entry for a worker no process stands behind, with an `echo` handler. */
  function workerInfo(fields: Pick<WorkerInfo, 'id' | 'incarnation' | 'concurrency'>): WorkerInfo {
    return {
      weight: 1,
      maxQueue: 0,
      heartbeatTtlMs: 10_000,
      maxMessageBytes: 1024 * 1024,
      handlers: ['echo'],
      host: 'nowhere',
      pid: 1,
      version: '0',
      startedAt: Date.now(),
      ...fields,
    };
  }

  it('dispatches tasks and settles each with its own result', async () => {
    const ns = uniqueNamespace();
    await worker(ns);
    await worker(ns);
    const d = await dispatcher(ns);
    await untilWorkers(d, 2);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => d.dispatch('echo', { i, text: `task ${i}` })),
    );
    expect(results).toEqual(Array.from({ length: 200 }, (_, i) => ({ i, text: `task ${i}` })));
    expect(d.stats()).toMatchObject({
      dispatched: 200,
      settled: { ok: 200 },
      inflight: 0,
      queued: 0,
    });
    await d.close();
  });

  it('gives weights 1:2:5 exactly their shares over 800 tasks', async () => {
    const ns = uniqueNamespace();
    const ids = ['w1', 'w2', 'w5'];
    await Promise.all(
      ids.map((id, i) => worker(ns, { id, weight: [1, 2, 5][i]!, concurrency: 500 })),
    );
    const d = await dispatcher(ns);
    await untilWorkers(d, 3);
    const results = await Promise.all(
      Array.from({ length: 800 }, (_, i) => d.dispatch('whoami', { i })),
    );
    const counts: Record<string, number> = {};
    for (const r of results) counts[r.worker] = (counts[r.worker] ?? 0) + 1;
    expect(counts).toEqual({ w1: 100, w2: 200, w5: 500 });
    await d.close();
  });

  it('rejects NO_WORKERS when no worker joins before the timeout', async () => {
    const d = await dispatcher(uniqueNamespace());
    const error = await rejection(d.dispatch('echo', 1, { timeoutMs: 200 }));
    expect(error.code).toBe(ErrorCode.NO_WORKERS);
    await d.close();
  });

  it('rejects TIMEOUT when the handler outlives the timeout, and cancels it on the worker', async () => {
    const ns = uniqueNamespace();
    await worker(ns);
    const d = await dispatcher(ns);
    await untilWorkers(d, 1);
    const error = await rejection(d.dispatch('hang', null, { timeoutMs: 300 }));
    expect(error.code).toBe(ErrorCode.TIMEOUT);
    await d.close();
  });

  it('rejects CANCELLED when the signal aborts', async () => {
    const ns = uniqueNamespace();
    await worker(ns);
    const d = await dispatcher(ns);
    await untilWorkers(d, 1);
    const abort = new AbortController();
    const pending = d.dispatch('hang', null, { signal: abort.signal });
    setTimeout(() => abort.abort(), 100);
    expect((await rejection(pending)).code).toBe(ErrorCode.CANCELLED);
    const already = await rejection(d.dispatch('echo', 1, { signal: AbortSignal.abort() }));
    expect(already.code).toBe(ErrorCode.CANCELLED);
    await d.close();
  });

  it('rejects HANDLER_ERROR with the remote name, message and retryable flag', async () => {
    const ns = uniqueNamespace();
    await worker(ns);
    const d = await dispatcher(ns);
    await untilWorkers(d, 1);
    const error = await rejection(
      d.dispatch('fail', {
        name: 'ResizeError',
        message: 'too wide',
        retryable: false,
        code: 'E_WIDE',
      }),
    );
    expect(error.code).toBe(ErrorCode.HANDLER_ERROR);
    expect(error.remote).toEqual({
      name: 'ResizeError',
      message: 'too wide',
      retryable: false,
      code: 'E_WIDE',
    });
    await d.close();
  });

  it('retries a retryable handler error when retries allow it', async () => {
    const ns = uniqueNamespace();
    await worker(ns);
    const d = await dispatcher(ns, { retryBackoffMs: 10 });
    await untilWorkers(d, 1);
    await expect(d.dispatch('flaky', { failures: 2 }, { retries: 2 })).resolves.toEqual({
      calls: 3,
    });
    const error = await rejection(d.dispatch('fail', { retryable: true }, { retries: 0 }));
    expect(error.code).toBe(ErrorCode.HANDLER_ERROR);
    expect(error.remote?.retryable).toBe(true);
    await d.close();
  });

  it('rejects UNKNOWN_HANDLER for a name no worker registered', async () => {
    const ns = uniqueNamespace();
    await worker(ns);
    const d = await dispatcher(ns);
    await untilWorkers(d, 1);
    expect((await rejection(d.dispatch('nope', 1))).code).toBe(ErrorCode.UNKNOWN_HANDLER);
    expect((await rejection(d.dispatch('../x', 1))).code).toBe(ErrorCode.UNKNOWN_HANDLER);
    await d.close();
  });

  it('rejects PAYLOAD_TOO_LARGE before publishing', async () => {
    const ns = uniqueNamespace();
    const d = await dispatcher(ns, { maxMessageBytes: 4096 });
    const error = await rejection(d.dispatch('echo', 'x'.repeat(5000)));
    expect(error.code).toBe(ErrorCode.PAYLOAD_TOO_LARGE);
    expect(d.stats().dispatched).toBe(0);
    await d.close();
  });

  it('rejects QUEUE_FULL at once when every worker is full and the queue is at its bound', async () => {
    const ns = uniqueNamespace();
    // Capacity is concurrency plus the worker's own queue: 2 here.
    await worker(ns, { concurrency: 2, maxQueue: 0 });
    const d = await dispatcher(ns, { maxQueued: 3 });
    await untilWorkers(d, 1);
    const held = Array.from({ length: 5 }, () => d.dispatch('sleepy', { ms: 300, value: 'ok' }));
    const started = Date.now();
    const error = await rejection(d.dispatch('sleepy', { ms: 1 }));
    expect(error.code).toBe(ErrorCode.QUEUE_FULL);
    expect(Date.now() - started).toBeLessThan(250);
    expect(d.stats().queued).toBe(3);
    expect(await Promise.all(held)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    await d.close();
  });

  it('rejects CLOSED after close, and for tasks still running when the drain time runs out', async () => {
    const ns = uniqueNamespace();
    await worker(ns);
    const d = await dispatcher(ns, { drainTimeoutMs: 100 });
    await untilWorkers(d, 1);
    const running = rejection(d.dispatch('hang', null));
    await new Promise((r) => setTimeout(r, 50));
    await d.close();
    expect((await running).code).toBe(ErrorCode.CLOSED);
    expect((await rejection(d.dispatch('echo', 1))).code).toBe(ErrorCode.CLOSED);
  });

  it('close rejects the tasks left open in the order they were dispatched', async () => {
    const ns = uniqueNamespace();
    await worker(ns);
    const d = await dispatcher(ns, { drainTimeoutMs: 50 });
    await untilWorkers(d, 1);
    // Some run on the worker, the rest wait in the dispatcher's queue.
    const order: number[] = [];
    const open = Array.from({ length: 300 }, (_, i) =>
      d.dispatch('hang', null).catch((error: unknown) => {
        expect((error as DispatchError).code).toBe(ErrorCode.CLOSED);
        order.push(i);
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
    await d.close();
    await Promise.all(open);
    expect(order).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });

  it('close waits for in-flight tasks to finish', async () => {
    const ns = uniqueNamespace();
    await worker(ns);
    const d = await dispatcher(ns);
    await untilWorkers(d, 1);
    const running = d.dispatch('sleepy', { ms: 200, value: 'done' });
    await new Promise((r) => setTimeout(r, 20));
    await d.close();
    await expect(running).resolves.toBe('done');
  });

  it('keeps two dispatchers sharing workers apart: each sees only its own results', async () => {
    const ns = uniqueNamespace();
    await worker(ns);
    await worker(ns);
    const a = await dispatcher(ns);
    const b = await dispatcher(ns);
    await untilWorkers(a, 2);
    await untilWorkers(b, 2);
    const [ra, rb] = await Promise.all([
      Promise.all(Array.from({ length: 300 }, (_, i) => a.dispatch('echo', { from: 'a', i }))),
      Promise.all(Array.from({ length: 300 }, (_, i) => b.dispatch('echo', { from: 'b', i }))),
    ]);
    expect(ra).toEqual(Array.from({ length: 300 }, (_, i) => ({ from: 'a', i })));
    expect(rb).toEqual(Array.from({ length: 300 }, (_, i) => ({ from: 'b', i })));
    expect(a.stats().staleReplies).toBe(0);
    expect(b.stats().staleReplies).toBe(0);
    await Promise.all([a.close(), b.close()]);
  });

  it('sends work to a worker that joins mid-run within one heartbeat', async () => {
    const ns = uniqueNamespace();
    await worker(ns, { id: 'first' });
    const d = await dispatcher(ns);
    await untilWorkers(d, 1);
    let stop = false;
    const seen = new Set<string>();
    const loop = (async () => {
      while (!stop) {
        const r = await d.dispatch('whoami', {});
        seen.add(r.worker);
      }
    })();
    await worker(ns, { id: 'late', heartbeatIntervalMs: 200 });
    const joinedAt = Date.now();
    while (!seen.has('late') && Date.now() - joinedAt < 2000)
      await new Promise((r) => setTimeout(r, 5));
    stop = true;
    await loop;
    expect(seen.has('late')).toBe(true);
    expect(Date.now() - joinedAt).toBeLessThan(1000);
    await d.close();
  });

  it("re-dispatches a SIGKILLed worker's in-flight tasks; each caller settles exactly once", async () => {
    const ns = uniqueNamespace();
    const doomed = await worker(ns, { id: 'doomed', heartbeatTtlMs: 600 });
    await worker(ns, { id: 'survivor', heartbeatTtlMs: 600 });
    const d = await dispatcher(ns, { reconcileIntervalMs: 100, timeoutMs: 20_000 });
    await untilWorkers(d, 2);
    let settlements = 0;
    const tasks = Array.from({ length: 40 }, (_, i) =>
      d.dispatch('whoami', { i, ms: 500 }).finally(() => {
        settlements++;
      }),
    );
    await new Promise((r) => setTimeout(r, 150));
    await doomed.kill('SIGKILL');
    const results = await Promise.all(tasks);
    expect(settlements).toBe(40);
    expect(results.map((r) => r.worker).filter((w) => w === 'doomed')).toEqual([]);
    expect(results.every((r, i) => (r.payload as { i: number }).i === i)).toBe(true);
    expect(d.stats().redelivered).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(settlements).toBe(40);
    await d.close();
  });

  it('re-dispatches a task whose worker aborted it at shutdown, instead of failing it', async () => {
    const ns = uniqueNamespace();
    const leaving = await worker(ns, { id: 'leaving', drainTimeoutMs: 100 });
    const d = await dispatcher(ns);
    await untilWorkers(d, 1);
    // Held on 'leaving' until its shutdown aborts it: a fixed run time could end before
    // a loaded machine has started the second worker, and the task would never move.
    const pending = d.dispatch('whoami', { holdOn: 'leaving' });
    await worker(ns, { id: 'staying' });
    await leaving.stop();
    await expect(pending).resolves.toMatchObject({ worker: 'staying', attempt: 2 });
    expect(d.stats().settled.error).toEqual({});
    // The run was under way when the worker left, and its drain aborted it.
    expect(leaving.output()).toContain('1 handler(s) still running after 100 ms; aborting them');
    await d.close();
  });

  it('does not route to a worker that only said hello: membership comes from the registry', async () => {
    const ns = uniqueNamespace();
    // No periodic reconcile during the test: only what a hello triggers.
    const d = await dispatcher(ns, { reconcileIntervalMs: 60_000 });
    const raw = track(new Redis(redis.url));
    const forged = workerInfo({ id: 'ghost', incarnation: 'i1', concurrency: 1 });
    await raw.publish(names(ns).controlChannel, encode([{ kind: 'hello', worker: forged }]));
    const real = await worker(ns);
    await untilWorkers(d, 1);
    expect(d.workers().map((w) => w.id)).toEqual([real.id]);
    await expect(d.dispatch('echo', 'hi')).resolves.toBe('hi');
    await raw.quit();
    await d.close();
  });

  it('settles a task only by a reply naming its exact id: look-alike ids are stale', async () => {
    const ns = uniqueNamespace();
    const n = names(ns);
    const raw = track(new Redis(redis.url));
    const sub = track(new Redis(redis.url));
    // A hand-made worker: registered, beating, subscribed to its channel.
    const info = workerInfo({ id: 'manual', incarnation: 'inc-m', concurrency: 4 });
    await registerByHand(raw, ns, info, 10_000);
    const frames: string[] = [];
    sub.on('message', (_channel: string, frame: string) => frames.push(frame));
    await sub.subscribe(n.workerChannel(info.id));
    const d = await dispatcher(ns, { ackTimeoutMs: 10_000 });
    await untilWorkers(d, 1);
    const pending = d.dispatch('echo', 'x');
    const until = Date.now() + 5000;
    while (frames.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    const [, id, attempt] = (JSON.parse(frames[0]!) as { m: [number, string, number][] }).m[0]!;
    const incarnation = id.slice(0, 8);
    const counter = id.slice(8);
    const reply = (taskId: string, value: string) =>
      raw.publish(
        n.replyChannel(d.id),
        JSON.stringify({
          v: 2,
          w: info.id,
          i: info.incarnation,
          m: [[4, taskId, `${id}.${attempt}`, value]],
        }),
      );
    // parseInt would read each of these as the same counter; each carries the genuine token.
    for (const lookalike of [` ${counter}`, `+${counter}`, `${counter}!`, `0${counter}`]) {
      await reply(incarnation + lookalike, 'forged');
    }
    const staleBy = Date.now() + 5000;
    while (d.stats().staleReplies < 4 && Date.now() < staleBy)
      await new Promise((r) => setTimeout(r, 5));
    expect(d.stats().staleReplies).toBe(4);
    expect(d.stats().settled.ok).toBe(0);
    await reply(id, 'genuine');
    await expect(pending).resolves.toBe('genuine');
    await Promise.all([raw.quit(), sub.quit()]);
    await d.close();
  });

  it('drops the late result of a fenced-off attempt', async () => {
    const ns = uniqueNamespace();
    const frozen = await worker(ns, { id: 'frozen', heartbeatTtlMs: 500 });
    const d = await dispatcher(ns, { reconcileIntervalMs: 100, ackTimeoutMs: 10_000 });
    await untilWorkers(d, 1);
    const pending = d.dispatch('whoami', { ms: 300 });
    await new Promise((r) => setTimeout(r, 100));
    frozen.pause();
    // Its heartbeat lapses; a new worker takes the task as a new attempt.
    await worker(ns, { id: 'thawed' });
    const result = await pending;
    expect(result).toMatchObject({ worker: 'thawed', attempt: 2 });
    frozen.resume();
    const until = Date.now() + 5000;
    while (d.stats().staleReplies === 0 && Date.now() < until)
      await new Promise((r) => setTimeout(r, 20));
    expect(d.stats().staleReplies).toBeGreaterThan(0);
    expect(d.stats().settled.ok).toBe(1);
    await d.close();
  });
});

describe.skipIf(!privateRedisAvailable)('dispatcher across a Redis restart', () => {
  const redis = usePrivateRedis();

  it('does not take workers for dead while Redis was away; in-flight tasks finish once', async () => {
    const ns = uniqueNamespace();
    const w = await spawnWorker({
      url: redis.url,
      namespace: ns,
      handlers: HANDLERS,
      heartbeatTtlMs: 1000,
    });
    const d = track(
      createDispatcher<Tasks>({
        redis: redis.url,
        namespace: ns,
        logger: false,
        reconcileIntervalMs: 100,
      }),
    );
    try {
      await d.start();
      while (d.workers().length < 1) await new Promise((r) => setTimeout(r, 10));
      const tasks = Array.from({ length: 20 }, (_, i) => d.dispatch('whoami', { i, ms: 1500 }));
      await new Promise((r) => setTimeout(r, 200));
      await redis.server.kill('SIGKILL');
      await redis.server.restart();
      const results = await Promise.all(tasks);
      expect(results.map((r) => r.attempt)).toEqual(Array(20).fill(1));
      expect(d.stats().redelivered).toBe(0);
    } finally {
      await d.close();
      await w.kill();
    }
  });
});
