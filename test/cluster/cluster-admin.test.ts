// The admin CLI with --cluster, and the Redis users `ringcast acl --cluster` prints,
// on a private Redis Cluster (3 masters, 3 replicas).
import { randomBytes } from 'node:crypto';
import { drainWorker, readClusterView, reweightWorker, startDashboard } from '@ringcast/admin';
import { createDispatcher, type Dispatcher } from '@ringcast/dispatcher';
import { names, type WorkerInfo } from '@ringcast/protocol';
import { createWorker, type Worker } from '@ringcast/worker';
import { Cluster } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { runRingcast } from '../support/admin-cli.js';
import { uniqueNamespace } from '../support/redis.js';
import { clusterAvailable, useRedisCluster } from '../support/redis-cluster.js';
import { registerByHand } from '../support/registry.js';
import { spawnWorker, type WorkerProcess } from '../support/workers.js';

const LONG_TEST_MS = 90_000;

describe.skipIf(!clusterAvailable)('the admin CLI and ACL users on a Redis Cluster', () => {
  const cluster = useRedisCluster();
  const processes: WorkerProcess[] = [];
  const closers: Array<() => Promise<unknown>> = [];

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    await Promise.all(processes.splice(0).map((w) => w.kill()));
  });

  const ringcast = (namespace: string, ...args: string[]) =>
    runRingcast([...args, '--cluster', cluster.current.spec, '--namespace', namespace]);

  it(
    'ringcast workers, reweight and drain with --cluster: cluster names, sharded requests',
    async () => {
      const namespace = uniqueNamespace();
      const c = cluster.current;
      const worker = await spawnWorker({
        url: '',
        cluster: { spec: c.spec, nodes: c.startupNodes },
        namespace,
        id: 'w-1',
      });
      processes.push(worker);

      const listed = await ringcast(namespace, 'workers', '--json');
      expect(listed.stderr).toBe('');
      expect(listed.code).toBe(0);
      expect((JSON.parse(listed.stdout) as Array<{ id: string }>).map((w) => w.id)).toEqual([
        'w-1',
      ]);

      const reweighted = await ringcast(namespace, 'reweight', 'w-1', '7');
      expect(reweighted.stderr).toBe('');
      expect(reweighted.stdout).toContain('worker w-1: weight 7');
      expect(reweighted.code).toBe(0);

      const drained = await ringcast(namespace, 'drain', 'w-1');
      expect(drained.stderr).toBe('');
      expect(drained.stdout).toContain('worker w-1 drained');
      expect(drained.code).toBe(0);
      expect((await worker.exited).code).toBe(0);

      // Nothing under the standalone names: the CLI read and wrote the cluster's.
      const plain = await runRingcast([
        'workers',
        '--json',
        '--cluster',
        c.spec,
        '--namespace',
        `${namespace}x`,
      ]);
      expect(JSON.parse(plain.stdout)).toEqual([]);
    },
    LONG_TEST_MS,
  );

  it(
    'the dashboard on a cluster: it reads the workers under the cluster’s names and subscribes to the sharded control channel',
    async () => {
      const namespace = uniqueNamespace();
      const c = cluster.current;
      const dashboard = await startDashboard({
        redis: '',
        cluster: c.startupNodes,
        namespace,
        port: 0,
      });
      closers.push(() => dashboard.close());
      const snapshot = async () =>
        (await (await fetch(`${dashboard.url}api/snapshot`)).json()) as {
          redis: { up: boolean; url: string };
          workers: Array<{ id: string }>;
        };
      expect((await snapshot()).redis).toMatchObject({ up: true });
      expect((await snapshot()).redis.url).toContain('cluster 127.0.0.1:');
      const worker = await spawnWorker({
        url: '',
        cluster: { spec: c.spec, nodes: c.startupNodes },
        namespace,
        id: 'w-dash',
      });
      processes.push(worker);
      const until = Date.now() + 10_000;
      let seen: string[] = [];
      while (Date.now() < until) {
        seen = (await snapshot()).workers.map((w) => w.id);
        if (seen.includes('w-dash')) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(seen).toEqual(['w-dash']);
      // Its subscriber listens for hello and leave on the control channel's master.
      const control = names(namespace, { cluster: true }).controlChannel;
      const master = await c.masterOf(await c.slotOf(control));
      const reply = await c.cli(master.port, 'PUBSUB', 'SHARDNUMSUB', control);
      expect(Number(reply.trim().split('\n')[1])).toBe(1);
    },
    LONG_TEST_MS,
  );

  it(
    'users from ringcast acl --cluster: a worker, a dispatcher (plain and durable tasks) and the admin library work, and no node logs a denial',
    async () => {
      const namespace = uniqueNamespace();
      const c = cluster.current;
      for (const node of c.nodes) await c.cli(node.port, 'ACL', 'LOG', 'RESET');
      const user = async (...args: string[]) => {
        const password = randomBytes(12).toString('hex');
        const run = await runRingcast(
          [
            'acl',
            ...args,
            '--cluster',
            c.spec,
            '--namespace',
            namespace,
            '--password-env',
            'ACL_TEST_PASSWORD',
            '--json',
          ],
          { env: { ACL_TEST_PASSWORD: password } },
        );
        expect(run.stderr).toBe('');
        const out = JSON.parse(run.stdout) as { user: string; args: string[] };
        // A cluster's users are per node.
        for (const node of c.nodes) await c.cli(node.port, 'ACL', ...out.args);
        return { username: out.user, password };
      };
      const target = (credentials: { username: string; password: string }) => ({
        cluster: [...c.startupNodes],
        redisOptions: credentials,
      });

      const worker: Worker = createWorker({
        redis: target(await user('--role', 'worker', '--id', 'w-acl')),
        namespace,
        id: 'w-acl',
        handlers: { echo: (payload: unknown) => payload },
        logger: false,
      });
      await worker.start();
      closers.push(() => worker.close());
      const dispatcher: Dispatcher = createDispatcher({
        redis: target(await user('--role', 'dispatcher', '--id', 'd-acl')),
        namespace,
        id: 'd-acl',
        logger: false,
      });
      await dispatcher.start();
      closers.push(() => dispatcher.close());
      const until = Date.now() + 10_000;
      while (!dispatcher.workers().some((w) => w.healthy) && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => dispatcher.dispatch('echo', { i })),
      );
      expect(results).toEqual(Array.from({ length: 50 }, (_, i) => ({ i })));
      // A ghost worker (registered, beating, nobody on its channel): tasks sent to it reach
      // nobody, it is suspected, and the next reconcile counts its channel's subscribers.
      const n = names(namespace, { cluster: true });
      const root = new Cluster([...c.startupNodes]);
      root.on('error', () => undefined);
      closers.push(async () => root.disconnect());
      const entry = JSON.parse((await root.hget(n.registryKey, 'w-acl'))!) as WorkerInfo;
      // Through the beat script, as a real worker registers, so that dispatchers hear of it.
      await registerByHand(
        root,
        namespace,
        { ...entry, id: 'w-ghost' },
        60_000,
        (await root.get(n.heartbeatKey('w-acl')))!,
        { cluster: true },
      );
      const seenGhost = Date.now() + 10_000;
      while (!dispatcher.workers().some((w) => w.id === 'w-ghost') && Date.now() < seenGhost) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const around = await Promise.all(
        Array.from({ length: 20 }, (_, i) => dispatcher.dispatch('echo', { i })),
      );
      expect(around).toHaveLength(20);
      expect(dispatcher.stats().redelivered).toBeGreaterThan(0);
      // Two reconcile rounds: the suspected ghost's channel is counted on its master.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      await root.hdel(n.registryKey, 'w-ghost');
      await root.del(n.heartbeatKey('w-ghost'));
      await root.zrem(n.heartbeatDeadlinesKey, 'w-ghost');
      const id = await dispatcher.submit('echo', { durable: 1 }, { resultTtlMs: 5_000 });
      expect(await dispatcher.result(id, { timeoutMs: 10_000 })).toEqual({ durable: 1 });

      const admin = new Cluster([...c.startupNodes], {
        redisOptions: await user('--role', 'admin'),
      });
      admin.on('error', () => undefined);
      closers.push(async () => admin.disconnect());
      const view = await readClusterView(admin as never, namespace);
      expect(view.workers.map((w) => w.info.id)).toEqual(['w-acl']);
      expect((await reweightWorker(admin as never, namespace, 'w-acl', 3)).kind).toBe('taken');
      expect((await drainWorker(admin as never, namespace, 'w-acl')).kind).toBe('left');
      await worker.closed;
      await dispatcher.close();

      const denials: string[] = [];
      for (const node of c.nodes) {
        const log = (await c.cli(node.port, 'ACL', 'LOG')).trim();
        if (log !== '') denials.push(`${node.port}: ${log}`);
      }
      expect(denials).toEqual([]);
      expect(names(namespace, { cluster: true }).workerChannel('w-acl')).toContain('{w-acl}');
    },
    LONG_TEST_MS,
  );
});
