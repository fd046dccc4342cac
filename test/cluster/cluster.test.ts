// ringcast on a private Redis Cluster (3 masters, 3 replicas): sharded channels in
// their ids' slots, "nobody is listening" on a shard, durable tasks, the CLIs' names.
import { fileURLToPath } from 'node:url';
import { createDispatcher, type Dispatcher } from '@ringcast/dispatcher';
import { names } from '@ringcast/protocol';
import { Cluster } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { runRingcast } from '../support/admin-cli.js';
import { uniqueNamespace } from '../support/redis.js';
import { clusterAvailable, useRedisCluster } from '../support/redis-cluster.js';
import { track } from '../support/track.js';
import { spawnWorker, type WorkerProcess } from '../support/workers.js';

const HANDLERS = fileURLToPath(new URL('../fixtures/ring-handlers.js', import.meta.url));

describe.skipIf(!clusterAvailable)('ringcast on a Redis Cluster', () => {
  const cluster = useRedisCluster();
  const workers: WorkerProcess[] = [];
  const clients: Cluster[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.disconnect();
    await Promise.all(workers.splice(0).map((w) => w.kill()));
  });

  function client(): Cluster {
    const c = track(new Cluster([...cluster.current.startupNodes], { lazyConnect: false }));
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  }

  async function worker(namespace: string, id: string): Promise<WorkerProcess> {
    const c = cluster.current;
    const w = await spawnWorker({
      url: '',
      cluster: { spec: c.spec, nodes: c.startupNodes },
      namespace,
      id,
      handlers: HANDLERS,
      concurrency: 8,
    });
    workers.push(w);
    return w;
  }

  async function dispatcher(namespace: string, id?: string): Promise<Dispatcher> {
    const d = track(
      createDispatcher({
        redis: { cluster: [...cluster.current.startupNodes] },
        namespace,
        logger: false,
        ...(id === undefined ? {} : { id }),
      }),
    );
    await d.start();
    return d;
  }

  async function routable(d: Dispatcher, n: number): Promise<void> {
    const until = Date.now() + 10_000;
    while (d.workers().filter((w) => w.healthy).length < n) {
      if (Date.now() > until)
        throw new Error(`fewer than ${n} workers: ${JSON.stringify(d.workers())}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** How many subscribers a sharded channel has on the master that serves its slot. */
  async function shardSubscribers(channel: string): Promise<number> {
    const c = cluster.current;
    const master = await c.masterOf(await c.slotOf(channel));
    const reply = (await c.cli(master.port, 'PUBSUB', 'SHARDNUMSUB', channel)).trim().split('\n');
    return Number(reply[1]);
  }

  it('tasks and replies travel on sharded channels, each in its id’s slot, spread over the shards', async () => {
    const namespace = uniqueNamespace();
    const n = names(namespace, { cluster: true });
    // Ids whose channels land on all three masters.
    const ids = ['w-a', 'w-b', 'w-c', 'w-d', 'w-e', 'w-f'];
    const masters = new Set<number>();
    for (const id of ids) {
      const slot = await cluster.current.slotOf(n.workerChannel(id));
      masters.add((await cluster.current.masterOf(slot)).port);
    }
    expect(masters.size).toBeGreaterThan(1);
    for (const id of ids) await worker(namespace, id);
    const d = await dispatcher(namespace, 'd-1');
    await routable(d, ids.length);

    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => d.dispatch('echo', { i })),
    );
    expect(results).toEqual(Array.from({ length: 300 }, (_, i) => ({ i })));
    expect(d.stats().redelivered).toBe(0);
    for (const id of ids) expect(await shardSubscribers(n.workerChannel(id))).toBe(1);
    expect(await shardSubscribers(n.replyChannel('d-1'))).toBe(1);
    // Nothing on classic pub/sub, which a cluster would broadcast to every node.
    const numsub = (
      await cluster.current.cli(
        cluster.current.nodes[0]!.port,
        'PUBSUB',
        'NUMSUB',
        n.workerChannel('w-a'),
      )
    )
      .trim()
      .split('\n');
    expect(Number(numsub[1])).toBe(0);
    await d.close();
  }, 60_000);

  it('a registered worker nobody hears on its shard: SPUBLISH counts 0 and the task goes elsewhere at once', async () => {
    const namespace = uniqueNamespace();
    const n = names(namespace, { cluster: true });
    await worker(namespace, 'w-real');
    const redis = client();
    // A ghost: the registry and a live heartbeat say it is there, but nobody subscribes to its channel.
    const entry = (await redis.hget(n.registryKey, 'w-real'))!;
    const beat = (await redis.get(n.heartbeatKey('w-real')))!;
    await redis.hset(n.registryKey, 'w-ghost', entry.replace('"id":"w-real"', '"id":"w-ghost"'));
    await redis.set(n.heartbeatKey('w-ghost'), beat, 'PX', 60_000);
    expect(await shardSubscribers(n.workerChannel('w-ghost'))).toBe(0);

    const d = track(
      createDispatcher({
        redis: { cluster: [...cluster.current.startupNodes] },
        namespace,
        logger: false,
        strategy: 'round-robin',
        // Long: a task sent to the ghost is only moved in time if "nobody listening" moves it.
        ackTimeoutMs: 30_000,
      }),
    );
    await d.start();
    await routable(d, 2);
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => d.dispatch('echo', { i })),
    );
    expect(results).toEqual(Array.from({ length: 40 }, (_, i) => ({ i })));
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(d.stats().redelivered).toBeGreaterThan(0);
    await d.close();
  }, 60_000);

  it('durable tasks: submitted by one dispatcher, every outcome read by another', async () => {
    const namespace = uniqueNamespace();
    const n = names(namespace, { cluster: true });
    await worker(namespace, 'w-1');
    await worker(namespace, 'w-2');
    const submitter = await dispatcher(namespace);
    const reader = await dispatcher(namespace);
    await routable(submitter, 2);
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) {
      ids.push(await submitter.submit('echo', { i }, { resultTtlMs: 5_000, priority: i % 3 }));
    }
    const results = await Promise.all(ids.map((id) => reader.result(id, { timeoutMs: 30_000 })));
    expect(results).toEqual(ids.map((_, i) => ({ i })));
    expect((await reader.task(ids[0]!))?.state).toBe('succeeded');
    // ringcast inspect reads the record under the cluster's names.
    const inspected = await runRingcast([
      'inspect',
      ids[0]!,
      '--json',
      '--cluster',
      cluster.current.spec,
      '--namespace',
      namespace,
    ]);
    expect(inspected.stderr).toBe('');
    expect(JSON.parse(inspected.stdout)).toMatchObject({ id: ids[0], state: 'succeeded' });
    const redis = client();
    expect(await redis.zcard(n.backlogKey)).toBe(0);
    // dispatch({ durable: true }) settles like a plain dispatch.
    expect(await submitter.dispatch('echo', { x: 1 }, { durable: true })).toEqual({ x: 1 });
    await submitter.close();
    await reader.close();
  }, 60_000);
});
