import { fileURLToPath } from 'node:url';
import { createDispatcher, type Dispatcher, ErrorCode } from '@ringcast/dispatcher';
import { createWorker, type Worker } from '@ringcast/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { redisAvailability, uniqueNamespace, useRedis } from '../support/redis.js';
import { rejection } from '../support/rejection.js';
import { track } from '../support/track.js';
import { spawnWorker, type WorkerProcess } from '../support/workers.js';

const HANDLERS = fileURLToPath(new URL('../fixtures/hostile-handlers.js', import.meta.url));

/** Time each caller allows: a reply that never comes shows up as TIMEOUT, not a hang. */
const TIMEOUT_MS = 6_000;

describe.skipIf(!redisAvailability.available)('a worker whose handlers misbehave', () => {
  const redis = useRedis();
  const workers: WorkerProcess[] = [];
  const inProcess: Worker[] = [];
  const dispatchers: Dispatcher[] = [];

  afterEach(async () => {
    await Promise.all(dispatchers.splice(0).map((d) => d.close()));
    await Promise.all(workers.splice(0).map((w) => w.kill()));
    await Promise.all(inProcess.splice(0).map((w) => w.close()));
  });

  async function dispatcher(namespace: string): Promise<Dispatcher> {
    const d = track(
      createDispatcher({ redis: redis.url, namespace, logger: false, timeoutMs: TIMEOUT_MS }),
    );
    dispatchers.push(d);
    await d.start();
    const until = Date.now() + 10_000;
    while (!d.workers().some((w) => w.healthy)) {
      if (Date.now() > until) throw new Error('the worker never became routable');
      await new Promise((r) => setTimeout(r, 10));
    }
    return d;
  }

  async function setUp(): Promise<{ worker: WorkerProcess; d: Dispatcher }> {
    const namespace = uniqueNamespace();
    const worker = await spawnWorker({ url: redis.url, namespace, handlers: HANDLERS });
    workers.push(worker);
    return { worker, d: await dispatcher(namespace) };
  }

  /** How a promise settled, without leaving a rejection unhandled while the test looks elsewhere. */
  function settled(promise: Promise<unknown>): Promise<{ value?: unknown; error?: unknown }> {
    return promise.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
  }

  it.each([
    ['throws', 'throwsRevoked'],
    ['rejects with', 'rejectsRevoked'],
  ])(
    'reports a handler that %s a revoked Proxy as NonError; the worker keeps serving',
    async (_how, handler) => {
      const { worker, d } = await setUp();
      // Running on the same worker when the hostile one fails.
      const innocent = settled(d.dispatch('innocent', { ms: 300, value: 'survived' }));
      const error = await rejection(d.dispatch(handler, null));
      expect(error.code).toBe(ErrorCode.HANDLER_ERROR);
      expect(error.remote).toMatchObject({ name: 'NonError', retryable: false });
      expect(await innocent).toEqual({ value: 'survived' });
      await expect(d.dispatch('innocent', { value: 'after' })).resolves.toBe('after');
      expect(worker.child.exitCode).toBeNull();
      expect(d.stats().settled).toMatchObject({ ok: 2 });
    },
  );

  it('answers a result the dispatcher would drop (a __proto__ key) with an error at once', async () => {
    const namespace = uniqueNamespace();
    const worker = track(
      createWorker({
        redis: redis.url,
        namespace,
        logger: false,
        handlers: {
          echo: (payload: unknown) => JSON.parse(payload as string),
        },
      }),
    );
    inProcess.push(worker);
    await worker.start();
    const d = await dispatcher(namespace);
    const started = Date.now();
    const error = await rejection(d.dispatch('echo', '{"__proto__":{"polluted":true},"a":1}'));
    expect(error.code).toBe(ErrorCode.HANDLER_ERROR);
    expect(error.remote).toMatchObject({ name: 'InvalidResult', retryable: false });
    expect(error.remote?.message).toMatch(/__proto__/);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS / 2);
    expect(worker.stats()).toMatchObject({ succeeded: 0, failed: 1 });
    // The same handler with harmless JSON still succeeds.
    await expect(d.dispatch('echo', '{"prototype":1}')).resolves.toEqual({ prototype: 1 });
  });
});
