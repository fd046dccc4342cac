// Dispatchers and workers with different maxMessageBytes: no frame is ever larger than its receiver accepts.
import { createDispatcher, type Dispatcher, ErrorCode } from '@ringcast/dispatcher';
import { createWorker, type Handler, type Worker } from '@ringcast/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { redisAvailability, uniqueNamespace, useRedis } from './support/redis.js';
import { rejection } from './support/rejection.js';
import { track } from './support/track.js';

const SMALL = 4096;

describe.skipIf(!redisAvailability.available)('frame limits that differ between the sides', () => {
  const redis = useRedis();
  const open: Array<Dispatcher | Worker> = [];
  let namespace: string;

  afterEach(async () => {
    for (const x of open.splice(0).reverse()) await x.close();
  });

  async function worker(
    id: string,
    handlers: Record<string, Handler>,
    options: { maxMessageBytes?: number; concurrency?: number } = {},
  ): Promise<Worker> {
    const w = track(
      createWorker({ redis: redis.url, namespace, id, handlers, logger: false, ...options }),
    );
    open.push(w);
    await w.start();
    return w;
  }

  /** A dispatcher that gives up on a silent worker quickly, so a dropped frame shows at once. */
  async function dispatcher(maxMessageBytes?: number): Promise<Dispatcher> {
    const d = track(
      createDispatcher({
        redis: redis.url,
        namespace,
        logger: false,
        ackTimeoutMs: 500,
        timeoutMs: 10_000,
        ...(maxMessageBytes === undefined ? {} : { maxMessageBytes }),
      }),
    );
    open.push(d);
    await d.start();
    return d;
  }

  const newNamespace = () => {
    namespace = uniqueNamespace();
  };

  it('a task too large for every live worker rejects PAYLOAD_TOO_LARGE at once; nothing is sent', async () => {
    newNamespace();
    const small = await worker('small', { echo: (p) => p }, { maxMessageBytes: SMALL });
    const d = await dispatcher();
    expect(d.workers()).toMatchObject([{ id: 'small', maxMessageBytes: SMALL }]);
    const started = Date.now();
    const error = await rejection(d.dispatch('echo', 'x'.repeat(2 * SMALL)));
    expect(error.code).toBe(ErrorCode.PAYLOAD_TOO_LARGE);
    expect(error.message).toMatch(/largest frame any live worker/);
    expect(Date.now() - started).toBeLessThan(100);
    await expect(d.dispatch('echo', 'fits')).resolves.toBe('fits');
    expect(small.stats()).toMatchObject({ received: 1, invalid: 0 });
    expect(d.workers()[0]?.healthy).toBe(true);
    expect(d.stats().redelivered).toBe(0);
  });

  it('a queued task too large for the workers that joined fails at once, and blocks nobody', async () => {
    newNamespace();
    const d = await dispatcher();
    const big = rejection(d.dispatch('echo', 'x'.repeat(2 * SMALL)));
    const small = d.dispatch('echo', 'fits');
    expect(d.stats().queued).toBe(2);
    const joined = Date.now();
    await worker('small', { echo: (p) => p }, { maxMessageBytes: SMALL });
    expect((await big).code).toBe(ErrorCode.PAYLOAD_TOO_LARGE);
    await expect(small).resolves.toBe('fits');
    // Its hello prompts a registry read at once: well before the 10 s timeout.
    expect(Date.now() - joined).toBeLessThan(3_000);
  });

  it('sends a task only to workers that accept its size', async () => {
    newNamespace();
    const whoami: Handler = (_p, ctx) => ctx.workerId;
    const small = await worker('small', { whoami }, { maxMessageBytes: SMALL });
    await worker('large', { whoami });
    const d = await dispatcher();
    const big = await Promise.all(
      Array.from({ length: 20 }, () => d.dispatch('whoami', 'x'.repeat(2 * SMALL))),
    );
    expect(new Set(big)).toEqual(new Set(['large']));
    const tiny = await Promise.all(Array.from({ length: 20 }, () => d.dispatch('whoami', 'x')));
    expect(new Set(tiny)).toEqual(new Set(['small', 'large']));
    expect(small.stats().invalid).toBe(0);
    expect(d.stats()).toMatchObject({ redelivered: 0, invalidMessages: 0 });
  });

  it('a result too large for its dispatcher comes back as an error reply at once; the handler runs once', async () => {
    newNamespace();
    let runs = 0;
    await worker('w', {
      huge: () => {
        runs++;
        return 'y'.repeat(3 * SMALL);
      },
    });
    const d = await dispatcher(SMALL);
    const started = Date.now();
    const error = await rejection(d.dispatch('huge', null));
    expect(error.code).toBe(ErrorCode.HANDLER_ERROR);
    expect(error.remote).toMatchObject({ name: 'RangeError', retryable: false });
    expect(error.remote?.message).toMatch(/over the limit of \d+ bytes/);
    expect(Date.now() - started).toBeLessThan(500);
    expect(runs).toBe(1);
    expect(d.stats()).toMatchObject({ invalidMessages: 0, redelivered: 0 });
    expect(d.workers()[0]?.healthy).toBe(true);
  });

  it("splits frames by the worker's limit: 300 tasks in one tick to a small worker", async () => {
    newNamespace();
    const small = await worker(
      'small',
      { echo: (p) => p },
      { maxMessageBytes: SMALL, concurrency: 300 },
    );
    const d = await dispatcher();
    const payloads = Array.from({ length: 300 }, (_, i) => ({ i, text: 'z'.repeat(100) }));
    await expect(Promise.all(payloads.map((p) => d.dispatch('echo', p)))).resolves.toEqual(
      payloads,
    );
    expect(small.stats()).toMatchObject({ received: 300, invalid: 0 });
    expect(d.stats().redelivered).toBe(0);
  });

  it("splits frames by the dispatcher's limit: 300 results in one tick to a small dispatcher", async () => {
    newNamespace();
    const w = await worker('large', { echo: (p) => p }, { concurrency: 300 });
    const d = await dispatcher(SMALL);
    const payloads = Array.from({ length: 300 }, (_, i) => ({ i, text: 'z'.repeat(100) }));
    await expect(Promise.all(payloads.map((p) => d.dispatch('echo', p)))).resolves.toEqual(
      payloads,
    );
    expect(w.stats()).toMatchObject({ received: 300, invalid: 0 });
    expect(d.stats()).toMatchObject({ invalidMessages: 0, redelivered: 0 });
  });
});
