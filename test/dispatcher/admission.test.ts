// What dispatch() accepts, what it refuses at once, and how both are counted.
import {
  createDispatcher,
  type Dispatcher,
  type DispatcherStats,
  type DispatchOptions,
  ErrorCode,
} from '@ringcast/dispatcher';
import { createWorker, type Handler, type Worker } from '@ringcast/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { redisAvailability, uniqueNamespace, useRedis } from '../support/redis.js';
import { rejection } from '../support/rejection.js';
import { track } from '../support/track.js';

/** Settles as `promise` does, or rejects after `ms`: a hang is a failure, not a test timeout. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
    }),
  ]);
}

function sum(counts: Partial<Record<string, number>>): number {
  return Object.values(counts).reduce<number>((a, b) => a + (b ?? 0), 0);
}

/** The ledger balances: every admitted call is settled, in flight or queued. */
function expectBalanced(stats: DispatcherStats): void {
  expect(stats.settled.ok + sum(stats.settled.error) + stats.inflight + stats.queued).toBe(
    stats.dispatched,
  );
}

describe.skipIf(!redisAvailability.available)('dispatch() admission', () => {
  const redis = useRedis();
  const open: Array<Dispatcher | Worker> = [];

  afterEach(async () => {
    for (const x of open.splice(0).reverse()) await x.close();
  });

  async function setup(
    handlers: Record<string, Handler> = { echo: (p) => p },
    options: Parameters<typeof createDispatcher>[0] = {},
    workerOptions: { concurrency?: number; maxQueue?: number } = {},
  ) {
    const namespace = uniqueNamespace();
    const worker = track(
      createWorker({ redis: redis.url, namespace, handlers, logger: false, ...workerOptions }),
    );
    open.push(worker);
    await worker.start();
    const d = track(createDispatcher({ redis: redis.url, namespace, logger: false, ...options }));
    open.push(d);
    await d.start();
    return { worker, d };
  }

  it('a signal that is not an AbortSignal rejects INVALID_OPTIONS at once, and nothing is sent', async () => {
    const { worker, d } = await setup();
    const bad: unknown[] = [
      new AbortController(),
      {},
      Object.create(AbortSignal.prototype),
      {
        aborted: false,
        addEventListener() {
          throw new Error('no listeners here');
        },
        removeEventListener() {},
      },
    ];
    for (const signal of bad) {
      const error = await rejection(d.dispatch('echo', 1, { signal: signal as AbortSignal }));
      expect(error.code).toBe(ErrorCode.INVALID_OPTIONS);
    }
    // Frames to one worker arrive in order: had any bad call been sent, it would be here first.
    await expect(d.dispatch('echo', 'after')).resolves.toBe('after');
    expect(worker.stats().received).toBe(1);
    expect(d.stats()).toMatchObject({
      dispatched: 1,
      settled: { ok: 1, error: {} },
      rejected: { INVALID_OPTIONS: bad.length },
    });
  });

  it('a signal that throws from removeEventListener cannot break settling or the process', async () => {
    const { d } = await setup();
    const signal = {
      aborted: false,
      addEventListener() {},
      removeEventListener() {
        throw new Error('cannot remove');
      },
    } as unknown as AbortSignal;
    await expect(within(d.dispatch('echo', 'x', { signal }), 5_000)).resolves.toBe('x');
    await expect(within(d.dispatch('echo', 'y'), 5_000)).resolves.toBe('y');
  });

  it('options that cannot be read or are not options reject INVALID_OPTIONS with the cause', async () => {
    const { worker, d } = await setup();
    const boom = new Error('getter exploded');
    const throwing = {
      get timeoutMs(): number {
        throw boom;
      },
    };
    const error = await rejection(d.dispatch('echo', 1, throwing));
    expect(error.code).toBe(ErrorCode.INVALID_OPTIONS);
    expect(error.cause).toBe(boom);
    expect(error.message).toContain('getter exploded');
    for (const options of [null, 5, { timeout: 100 }, { retries: '2' }]) {
      const e = await rejection(d.dispatch('echo', 1, options as DispatchOptions));
      expect(e.code).toBe(ErrorCode.INVALID_OPTIONS);
    }
    await expect(d.dispatch('echo', 'after')).resolves.toBe('after');
    expect(worker.stats().received).toBe(1);
  });

  it('a payload JSON would not carry faithfully is refused INVALID_MESSAGE; undefined means no payload', async () => {
    const { worker, d } = await setup({ echo: (p) => p, kind: (p) => typeof p });
    await expect(d.dispatch('kind', undefined)).resolves.toBe('undefined');
    await expect(d.dispatch('kind', null)).resolves.toBe('object');
    const refused = [() => 1, Symbol('s'), new Map([['a', 1]]), new Set([1]), 10n];
    for (const payload of refused) {
      const error = await rejection(d.dispatch('echo', payload));
      expect(error.code).toBe(ErrorCode.INVALID_MESSAGE);
    }
    expect(worker.stats().received).toBe(2);
    expect(d.stats().rejected).toEqual({ INVALID_MESSAGE: refused.length });
  });

  it('start() after close() rejects CLOSED saying it is closed', async () => {
    const d = track(createDispatcher({ redis: redis.url, namespace: uniqueNamespace() }));
    await d.close();
    const error = await rejection(d.start());
    expect(error.code).toBe(ErrorCode.CLOSED);
    expect(error.message).toMatch(/is closed/);
    expect(error.message).not.toMatch(/already started/);
  });

  it('stats balance: settled + in flight + queued === dispatched; refusals are counted apart', async () => {
    const namespace = uniqueNamespace();
    const d = track(
      createDispatcher({
        redis: redis.url,
        namespace,
        logger: false,
        maxQueued: 2,
        drainTimeoutMs: 0,
      }),
    );
    open.push(d);
    expect((await rejection(d.dispatch('echo', 1))).code).toBe(ErrorCode.CLOSED);
    expect(d.stats()).toMatchObject({ dispatched: 0, settled: { ok: 0, error: {} } });
    expect(d.stats().rejected).toEqual({ CLOSED: 1 });
    expectBalanced(d.stats());

    // Capacity 1: one task runs, the next two wait in the dispatcher's queue.
    const worker = track(
      createWorker({
        redis: redis.url,
        namespace,
        logger: false,
        concurrency: 1,
        maxQueue: 0,
        handlers: {
          echo: (p) => p,
          fail: () => {
            throw new Error('no');
          },
          hang: (_p, ctx) =>
            new Promise((resolve) => ctx.signal.addEventListener('abort', resolve)),
        },
      }),
    );
    open.unshift(worker);
    await worker.start();
    await d.start();
    await expect(d.dispatch('echo', 1)).resolves.toBe(1);
    expect((await rejection(d.dispatch('fail', null))).code).toBe(ErrorCode.HANDLER_ERROR);
    expect((await rejection(d.dispatch('nope', null))).code).toBe(ErrorCode.UNKNOWN_HANDLER);
    expect((await rejection(d.dispatch('echo', 1, { retries: -1 }))).code).toBe(
      ErrorCode.INVALID_OPTIONS,
    );
    expectBalanced(d.stats());

    const held = [d.dispatch('hang', null), d.dispatch('echo', 2), d.dispatch('echo', 3)].map((p) =>
      rejection(p),
    );
    expect((await rejection(d.dispatch('echo', 4))).code).toBe(ErrorCode.QUEUE_FULL);
    const busy = d.stats();
    expect(busy).toMatchObject({ dispatched: 5, inflight: 1, queued: 2 });
    expectBalanced(busy);

    await d.close();
    expect((await Promise.all(held)).map((e) => e.code)).toEqual(Array(3).fill(ErrorCode.CLOSED));
    expect((await rejection(d.dispatch('echo', 5))).code).toBe(ErrorCode.CLOSED);
    const end = d.stats();
    expectBalanced(end);
    expect(end).toMatchObject({
      dispatched: 5,
      inflight: 0,
      queued: 0,
      settled: { ok: 1, error: { HANDLER_ERROR: 1, CLOSED: 3 } },
    });
    expect(end.rejected).toEqual({
      CLOSED: 2,
      UNKNOWN_HANDLER: 1,
      INVALID_OPTIONS: 1,
      QUEUE_FULL: 1,
    });
  });
});
