// A live worker reweighed by an operator, as `ringcast reweight` does it: the
// weight policy hash, then a frame on the worker's channel. The registry and
// every dispatcher's ring follow, and the policy holds across heartbeats,
// restarts and resets.
import { createDispatcher, type Dispatcher } from '@ringcast/dispatcher';
import { decode, names, PROTOCOL_VERSION } from '@ringcast/protocol';
import { createWorker, type HandlerContext, type Worker } from '@ringcast/worker';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { publishTo, resetWeight, reweight } from '../support/operator.js';
import { redisAvailability, uniqueNamespace, useRedis } from '../support/redis.js';
import { track } from '../support/track.js';
import { eventually } from './fake-dispatcher.js';

describe.skipIf(!redisAvailability.available)('a live worker reweighed by an operator', () => {
  const redis = useRedis();
  let namespace: string;
  let client: Redis;
  let workers: Worker[];
  let dispatchers: Dispatcher[];

  beforeEach(async () => {
    namespace = uniqueNamespace();
    client = track(new Redis(redis.url));
    workers = [];
    dispatchers = [];
  });

  afterEach(async () => {
    await Promise.all(dispatchers.map((d) => d.close()));
    await Promise.all(workers.map((w) => w.close()));
    await client.quit();
  });

  async function worker(id: string, weight: number): Promise<Worker> {
    const w = track(
      createWorker({
        redis: redis.url,
        namespace,
        id,
        weight,
        handlers: { who: (_p: unknown, ctx: HandlerContext) => ctx.workerId },
        logger: false,
        heartbeatIntervalMs: 100,
        heartbeatTtlMs: 1_000,
      }),
    );
    workers.push(w);
    await w.start();
    return w;
  }

  /**
   * A dispatcher that reconciles once a minute: within a test, only a worker's
   * hello can move its ring, so a ring that follows shows the hello did it.
   */
  async function dispatcher(): Promise<Dispatcher> {
    const d = track(
      createDispatcher({ redis: redis.url, namespace, logger: false, reconcileIntervalMs: 60_000 }),
    );
    dispatchers.push(d);
    await d.start();
    return d;
  }

  async function registered(id: string): Promise<number | undefined> {
    const entry = await client.hget(names(namespace).registryKey, id);
    return entry === null ? undefined : (JSON.parse(entry) as { weight: number }).weight;
  }

  function ring(d: Dispatcher): Record<string, number> {
    const views = [...d.workers()].sort((x, y) => x.id.localeCompare(y.id));
    return Object.fromEntries(views.map((w) => [w.id, w.weight]));
  }

  /** Waits until every dispatcher's ring shows `weights`. */
  async function ringsShow(weights: Record<string, number>, what: string): Promise<void> {
    await eventually(
      () => dispatchers.every((d) => JSON.stringify(ring(d)) === JSON.stringify(weights)),
      5_000,
      what,
    );
  }

  /**
   * Deletes the worker's registry entry and waits until a heartbeat wrote it
   * again; resolves with the weight that beat wrote.
   */
  async function nextBeat(id: string): Promise<number> {
    await client.hdel(names(namespace).registryKey, id);
    return eventually(() => registered(id), 5_000, `a heartbeat of ${id}`);
  }

  it('moves the registry and every ring at once, and the weight survives the heartbeats after', async () => {
    const a = await worker('a', 1);
    await worker('b', 1);
    const first = await dispatcher();
    await dispatcher();
    await ringsShow({ a: 1, b: 1 }, 'both workers in both rings');

    expect(await reweight(client, namespace, 'a', 3)).toBe(1);
    await ringsShow({ a: 3, b: 1 }, 'the rings to follow the reweight');
    expect(await registered('a')).toBe(3);
    expect(a.stats()).toMatchObject({ weight: 3, configuredWeight: 1, weightFromPolicy: true });
    expect(a.info().weight).toBe(3);

    // The smooth ring, rebuilt: two full cycles of 3 + 1.
    const ran = await Promise.all(Array.from({ length: 8 }, () => first.dispatch('who', null)));
    expect(ran.filter((w) => w === 'a')).toHaveLength(6);

    expect(await nextBeat('a')).toBe(3);
    expect(await nextBeat('a')).toBe(3);
    expect(ring(first)).toEqual({ a: 3, b: 1 });
  });

  it('starts a worker with the weight the policy holds for its id', async () => {
    await client.hset(names(namespace).weightsKey, 'a', '7');
    const a = await worker('a', 2);
    expect(await registered('a')).toBe(7);
    expect(a.stats()).toMatchObject({ weight: 7, configuredWeight: 2, weightFromPolicy: true });
    await dispatcher();
    await ringsShow({ a: 7 }, 'the ring to show the policy weight');
  });

  it('goes back to the configured weight within a heartbeat of a reset', async () => {
    const a = await worker('a', 2);
    await dispatcher();
    await reweight(client, namespace, 'a', 9);
    await ringsShow({ a: 9 }, 'the reweight');
    await resetWeight(client, namespace, 'a');
    await ringsShow({ a: 2 }, 'the ring back at the configured weight');
    expect(await registered('a')).toBe(2);
    expect(a.stats()).toMatchObject({ weight: 2, weightFromPolicy: false });
  });

  it('ignores a reweight for another incarnation, counts an invalid one, and changes nothing for either', async () => {
    const a = await worker('a', 2);
    await dispatcher();
    const hellos: number[] = [];
    const listener = track(new Redis(redis.url));
    listener.on('message', (_channel: string, frame: string) => {
      const decoded = decode(frame);
      if (!decoded.ok) return;
      for (const m of decoded.messages) if (m.kind === 'hello') hellos.push(m.worker.weight);
    });
    await listener.subscribe(names(namespace).controlChannel);
    try {
      const channel = names(namespace).workerChannel('a');
      // The frame alone: the policy hash is per id, and stays as it is.
      await publishTo(client, namespace, 'a', {
        kind: 'reweight',
        id: 'a',
        weight: 3,
        incarnation: 'an-earlier-process',
      });
      const invalid = { kind: 'reweight', id: 'a', weight: 0 };
      await client.publish(channel, JSON.stringify({ v: PROTOCOL_VERSION, m: [invalid] }));
      await eventually(() => a.stats().invalid === 1, 5_000, 'the invalid frame to be counted');
      // The ignored frame came first on the channel: the worker has dealt with it by now.
      expect(a.stats()).toMatchObject({ weight: 2, weightFromPolicy: false });
      expect(hellos).toEqual([]);
      // Its own incarnation's frame it takes.
      await reweight(client, namespace, 'a', 5, a.info().incarnation);
      await ringsShow({ a: 5 }, 'the reweight for its own incarnation');
      expect(hellos).toEqual([5]);
    } finally {
      await listener.quit();
    }
  });
});
