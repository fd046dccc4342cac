// The attempt bound: a task's handler runs at most maxAttempts + retries times.
import { createDispatcher, ErrorCode } from '@ringcast/dispatcher';
import { names } from '@ringcast/protocol';
import { createWorker } from '@ringcast/worker';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { redisAvailability, uniqueNamespace, useRedis } from '../support/redis.js';
import { rejection } from '../support/rejection.js';
import { track } from '../support/track.js';
import { ScriptedWorker } from './scripted-worker.js';

const retryable = { name: 'FlakyError', message: 'try again', retryable: true };

describe.skipIf(!redisAvailability.available)('the attempt bound', () => {
  const redis = useRedis();

  it('maxAttempts 1, retries 1: a retryable error then a lost attempt end WORKER_LOST after 2 runs', async () => {
    const ns = uniqueNamespace();
    // Attempt 1 fails retryably; every later attempt is never acknowledged (lost).
    const w = await ScriptedWorker.start(redis.url, ns, (task) =>
      task.attempt === 1 ? { error: retryable } : 'silent',
    );
    const d = track(
      createDispatcher({
        redis: redis.url,
        namespace: ns,
        logger: false,
        maxAttempts: 1,
        ackTimeoutMs: 200,
        retryBackoffMs: 1,
        reconcileIntervalMs: 50,
        timeoutMs: 5_000,
      }),
    );
    try {
      await d.start();
      const error = await rejection(d.dispatch('echo', 'x', { retries: 1 }));
      expect(error.code).toBe(ErrorCode.WORKER_LOST);
      expect(w.attempts()).toEqual([1, 2]);
    } finally {
      await d.close();
      await w.close();
    }
  });

  it('a non-durable task answered with a cancel abort it never asked for fails HANDLER_ERROR, run once', async () => {
    const ns = uniqueNamespace();
    // No other dispatcher can send its attempts (its ids are its own): the handler threw this itself.
    const cancelAbort = {
      name: 'WorkerError',
      message: 'the task was cancelled',
      retryable: false,
      code: ErrorCode.CANCELLED,
    };
    const w = await ScriptedWorker.start(redis.url, ns, () => ({ error: cancelAbort }));
    const d = track(
      createDispatcher({ redis: redis.url, namespace: ns, logger: false, maxAttempts: 2 }),
    );
    try {
      await d.start();
      const error = await rejection(d.dispatch('echo', 'x'));
      expect(error.code).toBe(ErrorCode.HANDLER_ERROR);
      expect(error.remote).toMatchObject(cancelAbort);
      expect(w.attempts()).toEqual([1]);
    } finally {
      await d.close();
      await w.close();
    }
  });

  it('maxAttempts 1: a publish Redis refused spends nothing, and a lost attempt after it ends the task', async () => {
    const ns = uniqueNamespace();
    const w = await ScriptedWorker.start(redis.url, ns, () => 'silent');
    const client = track(new Redis(redis.url));
    const channel = names(ns).workerChannel(w.info.id);
    const publish = client.publish.bind(client);
    let failures = 1;
    client.publish = ((to: string, message: string) =>
      to === channel && failures-- > 0
        ? Promise.reject(new Error('injected publish failure'))
        : publish(to, message)) as typeof client.publish;
    const d = track(
      createDispatcher({
        redis: client,
        namespace: ns,
        logger: false,
        maxAttempts: 1,
        ackTimeoutMs: 200,
        reconcileIntervalMs: 50,
        timeoutMs: 5_000,
      }),
    );
    try {
      await d.start();
      const error = await rejection(d.dispatch('echo', 'x'));
      expect(error.code).toBe(ErrorCode.WORKER_LOST);
      // Attempt 1 never left (the publish failed); attempt 2 was lost; no third.
      expect(w.attempts()).toEqual([2]);
    } finally {
      await d.close();
      await w.close();
      await client.quit();
    }
  });

  it('maxAttempts 1, retries 1: a handler that always fails retryably runs exactly twice', async () => {
    const ns = uniqueNamespace();
    const runs = new Map<string, number>();
    const worker = track(
      createWorker({
        redis: redis.url,
        namespace: ns,
        logger: false,
        handlers: {
          flaky: (_payload, ctx) => {
            runs.set(ctx.taskId, (runs.get(ctx.taskId) ?? 0) + 1);
            throw Object.assign(new Error('try again'), { retryable: true });
          },
        },
      }),
    );
    const d = track(
      createDispatcher({
        redis: redis.url,
        namespace: ns,
        logger: false,
        maxAttempts: 1,
        retryBackoffMs: 1,
      }),
    );
    try {
      await worker.start();
      await d.start();
      const errors = await Promise.all(
        Array.from({ length: 10 }, () => rejection(d.dispatch('flaky', null, { retries: 1 }))),
      );
      expect(errors.map((e) => e.code)).toEqual(Array(10).fill(ErrorCode.HANDLER_ERROR));
      expect([...runs.values()]).toEqual(Array(10).fill(2));
    } finally {
      await d.close();
      await worker.close();
    }
  });

  it('retries 1e9 with an always-retryable error: TIMEOUT carries the last handler error', async () => {
    const ns = uniqueNamespace();
    let runs = 0;
    const worker = track(
      createWorker({
        redis: redis.url,
        namespace: ns,
        logger: false,
        handlers: {
          flaky: () => {
            runs++;
            throw Object.assign(new Error(`failure ${runs}`), {
              name: 'FlakyError',
              retryable: true,
              code: 'E_FLAKY',
            });
          },
        },
      }),
    );
    const d = track(
      createDispatcher({ redis: redis.url, namespace: ns, logger: false, retryBackoffMs: 5 }),
    );
    try {
      await worker.start();
      await d.start();
      const error = await rejection(d.dispatch('flaky', null, { retries: 1e9, timeoutMs: 300 }));
      expect(error.code).toBe(ErrorCode.TIMEOUT);
      expect(runs).toBeGreaterThan(1);
      expect(error.remote).toMatchObject({
        name: 'FlakyError',
        retryable: true,
        code: 'E_FLAKY',
      });
      expect(error.remote?.message).toMatch(/^failure \d+$/);
      expect(error.message).toContain(`FlakyError: ${error.remote?.message}`);
    } finally {
      await d.close();
      await worker.close();
    }
  });
});
