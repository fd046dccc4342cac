/**
 * A private Redis Cluster on 127.0.0.1: N masters and N replicas, each a
 * `redis-server --cluster-enabled yes` on a free port (startRedisServer), joined
 * with `redis-cli --cluster create … --cluster-replicas 1 --cluster-yes`. It
 * resolves only once every node reports `cluster_state:ok` and all nodes agree on
 * the slot map, so a client started then sees a settled cluster. For the tests,
 * the demo and the benchmark; everything it starts it stops.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { findOnPath } from './find-on-path.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

const run = promisify(execFile);
const HOST = '127.0.0.1';

export interface StartRedisClusterOptions {
  /** @defaultValue 3 */
  masters?: number;
  /** Replicas per master. @defaultValue 1 */
  replicasPerMaster?: number;
  /** Extra redis-server arguments for every node. */
  args?: string[];
  /** How long to wait for the cluster to settle. @defaultValue 30_000 */
  readyTimeoutMs?: number;
  /**
   * `cluster-node-timeout` in ms: how soon a dead master's replica takes over.
   * Short by default, so that a failover in a test takes about a second.
   * @defaultValue 1_000
   */
  nodeTimeoutMs?: number;
}

export interface RedisClusterNode {
  readonly server: RedisServer;
  readonly port: number;
  /** The node's cluster id (CLUSTER MYID). */
  readonly id: string;
}

export interface RedisCluster {
  /** Every node, masters first as they were created (roles change after a failover). */
  readonly nodes: readonly RedisClusterNode[];
  /** `[{ host, port }, …]` of every node: the startup nodes for an ioredis Cluster. */
  readonly startupNodes: ReadonlyArray<{ host: string; port: number }>;
  /** `host:port,host:port,…`, as the CLIs' `--cluster` takes it. */
  readonly spec: string;
  /** Runs `redis-cli -p <port> …args` and returns its output. */
  cli(port: number, ...args: string[]): Promise<string>;
  /** The live masters that serve slots now. */
  masters(): Promise<RedisClusterNode[]>;
  /** Whether a live replica follows `master` (so killing it fails over rather than down). */
  hasLiveReplica(master: RedisClusterNode): Promise<boolean>;
  /** The slot of a key or sharded channel (CLUSTER KEYSLOT). */
  slotOf(key: string): Promise<number>;
  /** The node that currently serves `slot` as master. */
  masterOf(slot: number): Promise<RedisClusterNode>;
  /** Waits until every live node says `cluster_state:ok` and they agree on the slot map. */
  settled(timeoutMs?: number): Promise<void>;
  /**
   * Moves one slot, with its keys, to another master (CLUSTER SETSLOT IMPORTING /
   * MIGRATING, MIGRATE, SETSLOT NODE on both and on every other master).
   */
  migrateSlot(slot: number, to: RedisClusterNode): Promise<void>;
  /** Stops every node. Idempotent. */
  stop(): Promise<void>;
}

/** Absolute path of `redis-cli` on the PATH, or undefined. */
export function redisCliBinary(): string | undefined {
  return findOnPath('redis-cli');
}

export async function startRedisCluster(
  opts: StartRedisClusterOptions = {},
): Promise<RedisCluster> {
  const cliBinary = redisCliBinary();
  if (!cliBinary) throw new Error('redis-cli is not on the PATH (it comes with redis-tools)');
  const masters = opts.masters ?? 3;
  const replicas = opts.replicasPerMaster ?? 1;
  const count = masters * (1 + replicas);
  const started: RedisServer[] = [];
  const stopAll = () => Promise.all(started.map((server) => server.stop()));
  const cli = async (port: number, ...args: string[]): Promise<string> => {
    const { stdout } = await run(cliBinary, ['-h', HOST, '-p', String(port), ...args], {
      timeout: 30_000,
    });
    return stdout;
  };
  try {
    for (let i = 0; i < count; i++) {
      started.push(
        await startRedisServer({
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            String(opts.nodeTimeoutMs ?? 1_000),
            // A replica takes over however long it was cut off: the tests kill masters.
            '--cluster-replica-validity-factor',
            '0',
            ...(opts.args ?? []),
          ],
        }),
      );
    }
    await cli(
      started[0]!.port,
      '--cluster',
      'create',
      ...started.map((server) => `${HOST}:${server.port}`),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    );
    const nodes: RedisClusterNode[] = [];
    for (const server of started) {
      nodes.push({
        server,
        port: server.port,
        id: (await cli(server.port, 'CLUSTER', 'MYID')).trim(),
      });
    }
    const cluster = makeCluster(nodes, cli, stopAll);
    await cluster.settled(opts.readyTimeoutMs ?? 30_000);
    return cluster;
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function makeCluster(
  nodes: RedisClusterNode[],
  cli: (port: number, ...args: string[]) => Promise<string>,
  stopAll: () => Promise<unknown>,
): RedisCluster {
  const alive = async (node: RedisClusterNode): Promise<boolean> => {
    const exited = await Promise.race([
      node.server.exited.then(() => true),
      new Promise<boolean>((resolve) => setImmediate(() => resolve(false))),
    ]);
    return !exited;
  };
  const slotMap = async (port: number): Promise<string> => {
    // CLUSTER NODES lines: id addr flags master ping pong epoch state slots…
    const lines = (await cli(port, 'CLUSTER', 'NODES')).trim().split('\n');
    const owners: string[] = [];
    for (const line of lines) {
      const fields = line.split(' ');
      const flags = fields[2] ?? '';
      if (!flags.includes('master') || flags.includes('fail')) continue;
      const slots = fields.slice(8).filter((s) => !s.startsWith('['));
      if (slots.length > 0) owners.push(`${fields[0]}=${slots.join(',')}`);
    }
    return owners.sort().join(' ');
  };
  const masterOf = async (slot: number): Promise<RedisClusterNode> => {
    for (const node of nodes) {
      if (!(await alive(node))) continue;
      const reply = (await cli(node.port, 'CLUSTER', 'SLOTS')).trim();
      // The plain-text reply lists, per range: start, end, then the master's ip, port, id.
      const lines = reply.split('\n');
      for (let i = 0; i + 4 < lines.length; i++) {
        const start = Number(lines[i]);
        const end = Number(lines[i + 1]);
        if (Number.isInteger(start) && Number.isInteger(end) && start <= slot && slot <= end) {
          const port = Number(lines[i + 3]);
          const owner = nodes.find((n) => n.port === port);
          if (owner && lines[i + 2] === HOST) return owner;
        }
      }
      break;
    }
    throw new Error(`no master serves slot ${slot}`);
  };
  return {
    nodes,
    startupNodes: nodes.map((node) => ({ host: HOST, port: node.port })),
    spec: nodes.map((node) => `${HOST}:${node.port}`).join(','),
    cli,
    masterOf,
    async masters() {
      const result: RedisClusterNode[] = [];
      for (const node of nodes) {
        if (!(await alive(node))) continue;
        const lines = (await cli(node.port, 'CLUSTER', 'NODES')).trim().split('\n');
        for (const line of lines) {
          const fields = line.split(' ');
          const flags = fields[2] ?? '';
          if (!flags.includes('master') || flags.includes('fail') || fields.length <= 8) continue;
          const owner = nodes.find((n) => n.id === fields[0]);
          if (owner) result.push(owner);
        }
        return result;
      }
      return result;
    },
    async hasLiveReplica(master) {
      for (const node of nodes) {
        if (!(await alive(node))) continue;
        const lines = (await cli(node.port, 'CLUSTER', 'NODES')).trim().split('\n');
        return lines.some((line) => {
          const fields = line.split(' ');
          const flags = fields[2] ?? '';
          return flags.includes('slave') && !flags.includes('fail') && fields[3] === master.id;
        });
      }
      return false;
    },
    async slotOf(key) {
      const live = [];
      for (const node of nodes) if (await alive(node)) live.push(node);
      return Number((await cli(live[0]!.port, 'CLUSTER', 'KEYSLOT', key)).trim());
    },
    async settled(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last = '';
      for (;;) {
        try {
          const live = [];
          for (const node of nodes) if (await alive(node)) live.push(node);
          const states = await Promise.all(live.map((node) => cli(node.port, 'CLUSTER', 'INFO')));
          const maps = await Promise.all(live.map((node) => slotMap(node.port)));
          const ok = states.every((info) => info.includes('cluster_state:ok'));
          const agree = maps.every((map) => map === maps[0] && map !== '');
          if (ok && agree) return;
          last = ok ? 'nodes disagree on the slot map' : 'cluster_state is not ok on every node';
        } catch (error) {
          last = String(error);
        }
        if (Date.now() > deadline) throw new Error(`the cluster did not settle: ${last}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async migrateSlot(slot, to) {
      const from = await masterOf(slot);
      if (from.id === to.id) return;
      await cli(to.port, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', from.id);
      await cli(from.port, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', to.id);
      for (;;) {
        const keys = (await cli(from.port, 'CLUSTER', 'GETKEYSINSLOT', String(slot), '100'))
          .trim()
          .split('\n')
          .filter((key) => key !== '');
        if (keys.length === 0) break;
        await cli(from.port, 'MIGRATE', HOST, String(to.port), '', '0', '5000', 'KEYS', ...keys);
      }
      await cli(to.port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id);
      await cli(from.port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id);
      for (const node of nodes) {
        if (node === to || node === from || !(await alive(node))) continue;
        await cli(node.port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id).catch(() => '');
      }
    },
    async stop() {
      await stopAll();
    },
  };
}
