// The fault subset of issue 19 on a private Redis Cluster (3 masters, 3 replicas):
// CLI workers, an in-process dispatcher, every task checked against the ledger
// (test/faults/ledger.ts). Lost, double-settled and wrong are 0 in each. The master
// kill comes last: the cluster has one replica fewer after it.
import { names } from '@ringcast/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import {
  clusterScenario,
  type Expectations,
  expectNoFaultExactlyOnce,
  settleScenario,
} from '../faults/expectations.js';
import {
  CALM,
  SCENARIO_TIMEOUT_MS,
  type Scenario,
  sleep,
  TASKS,
  until,
} from '../faults/harness.js';
import { type LedgerReport, publishTable } from '../faults/ledger.js';
import { uniqueNamespace } from '../support/redis.js';
import { clusterAvailable, useRedisCluster } from '../support/redis-cluster.js';
import type { RedisClusterNode } from '../support/redis-server.js';

const reports: LedgerReport[] = [];

describe.skipIf(!clusterAvailable)('fault injection on a Redis Cluster', () => {
  const cluster = useRedisCluster();

  afterAll(() =>
    publishTable(`ringcast on a Redis Cluster (${TASKS} tasks per scenario)`, 'cluster', reports),
  );

  const scenario = (name: string, body: (s: Scenario) => Promise<void>, ns?: string) =>
    clusterScenario(name, cluster.current, body, ns);
  const settle = (s: Scenario, x: Expectations = {}) => settleScenario(s, reports, x);

  /**
   * Of w1..w3, one whose channel's master is not the namespace slot's (the
   * registry's) master and has a live replica to take over.
   */
  async function workerAwayFromRegistry(s: Scenario): Promise<string> {
    const c = cluster.current;
    const n = names(s.ns, { cluster: true });
    const registry = await c.masterOf(await c.slotOf(n.registryKey));
    for (const id of ['w1', 'w2', 'w3']) {
      const master = await c.masterOf(await c.slotOf(n.workerChannel(id)));
      if (master.id !== registry.id && (await c.hasLiveReplica(master))) return id;
    }
    throw new Error('no worker channel on a master with a live replica apart from the registry');
  }

  /** A namespace whose slot's master has a live replica. */
  async function namespaceOnReplicatedMaster(): Promise<string> {
    const c = cluster.current;
    for (;;) {
      const ns = uniqueNamespace();
      const master = await c.masterOf(await c.slotOf(names(ns, { cluster: true }).registryKey));
      if (await c.hasLiveReplica(master)) return ns;
    }
  }

  /** Kills `slot`'s master with SIGKILL and waits until a replica serves the slot. */
  async function killMasterOf(slot: number): Promise<{ promoted: RedisClusterNode; ms: number }> {
    const c = cluster.current;
    const master = await c.masterOf(slot);
    await master.server.kill('SIGKILL');
    const killedAt = Date.now();
    await until(
      async () => (await c.masterOf(slot)).id !== master.id,
      30_000,
      'a replica to take over',
    );
    await c.settled(30_000);
    return { promoted: await c.masterOf(slot), ms: Date.now() - killedAt };
  }

  async function shardSubscribers(node: RedisClusterNode, channel: string): Promise<number> {
    const reply = await cluster.current.cli(node.port, 'PUBSUB', 'SHARDNUMSUB', channel);
    return Number(reply.trim().split('\n')[1]);
  }

  it(
    '1. no fault, 3 workers: every task runs exactly once',
    () => scenario('cluster 1 no fault', (s) => expectNoFaultExactlyOnce(s, reports)),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "2. a worker's slot migrates to another master mid-run: its subscription follows",
    () =>
      scenario('cluster 2 slot migration', async (s) => {
        await s.threeWorkers(CALM);
        const d = await s.dispatcher();
        await s.routable(d, 3);
        const c = cluster.current;
        const n = names(s.ns, { cluster: true });
        const slot = await c.slotOf(n.workerChannel('w1'));
        const from = await c.masterOf(slot);
        const to = (await c.masters()).find((node) => node.id !== from.id)!;
        const feeding = s.feed(d, TASKS);
        await sleep(800);
        await c.migrateSlot(slot, to);
        expect((await c.masterOf(slot)).id).toBe(to.id);
        await feeding;
        // The worker's channel has its subscriber again, on the new master.
        await until(
          async () => {
            const reply = (await c.cli(to.port, 'PUBSUB', 'SHARDNUMSUB', n.workerChannel('w1')))
              .trim()
              .split('\n');
            return Number(reply[1]) === 1;
          },
          10_000,
          'w1 subscribed on the new master',
        );
        await settle(s);
      }),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    '3. a worker is killed (-9) and restarted under its id mid-run',
    () =>
      scenario('cluster 3 worker restart', async (s) => {
        await s.threeWorkers(CALM);
        const d = await s.dispatcher();
        await s.routable(d, 3);
        const feeding = s.feed(d, TASKS);
        await sleep(1_000);
        const victim = s.workers.get('w2')!;
        await victim.kill('SIGKILL');
        await s.worker('w2', CALM);
        await feeding;
        await settle(s, { killed: new Set([victim]), allowed: ['WORKER_LOST'] });
      }),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "4. the master of a worker's slot is killed (-9) mid-run: its replica takes over",
    () =>
      scenario('cluster 4 master killed', async (s) => {
        await s.threeWorkers(CALM);
        const d = await s.dispatcher();
        await s.routable(d, 3);
        const c = cluster.current;
        const n = names(s.ns, { cluster: true });
        const id = await workerAwayFromRegistry(s);
        const slot = await c.slotOf(n.workerChannel(id));
        const feeding = s.feed(d, TASKS);
        await sleep(1_000);
        const { promoted, ms } = await killMasterOf(slot);
        s.logs.push(`[test] failover took ${ms} ms`);
        await feeding;
        await until(
          async () => (await shardSubscribers(promoted, n.workerChannel(id))) === 1,
          10_000,
          `${id} subscribed on the promoted replica`,
        );
        await settle(s, { allowed: ['WORKER_LOST'] });
      }),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    '5. the master of the namespace slot (registry, heartbeats) is killed (-9) mid-run',
    async () =>
      scenario(
        'cluster 5 registry master killed',
        async (s) => {
          await s.threeWorkers(CALM);
          const d = await s.dispatcher();
          await s.routable(d, 3);
          const c = cluster.current;
          const n = names(s.ns, { cluster: true });
          const feeding = s.feed(d, TASKS);
          await sleep(1_000);
          const { ms } = await killMasterOf(await c.slotOf(n.registryKey));
          s.logs.push(`[test] failover took ${ms} ms`);
          await feeding;
          await s.routable(d, 3);
          await settle(s, { allowed: ['WORKER_LOST'] });
        },
        await namespaceOnReplicatedMaster(),
      ),
    SCENARIO_TIMEOUT_MS,
  );
});
