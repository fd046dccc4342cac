/**
 * Redis Cluster as a `redis` option: an ioredis `Cluster`, or
 * `{ cluster: [{ host, port }, …], …ClusterOptions }`. Structural, like
 * connection.ts, so this package needs no Redis library: the packages that open
 * connections hand in their ioredis constructors ({@link openClusterConnections}).
 *
 * On a cluster, ringcast's channels are sharded (SSUBSCRIBE/SPUBLISH): its
 * subscriber is a Cluster of its own with ioredis's `shardedSubscribers`, which
 * keeps one subscriber connection per master and moves a channel's subscription
 * with its slot (after a failover, or a slot migration once the slot map is
 * re-read, every {@link SLOTS_REFRESH_MS} at least).
 */
import { type ConnectionPair, isRedisClient } from './connection.js';

/** One startup node of a cluster. */
export interface ClusterNode {
  host: string;
  port: number;
}

/** The options form of a cluster target: startup nodes plus ioredis ClusterOptions. */
export interface ClusterTargetOptions {
  cluster: ClusterNode[];
  [option: string]: unknown;
}

/**
 * How often a ringcast-made Cluster re-reads the slot map by itself. A slot that
 * moved is also noticed at the first MOVED reply, but a worker's subscriber
 * receives no replies: this bounds how long its channel stays unsubscribed after
 * its slot moved (publishers meanwhile see 0 receivers and send elsewhere).
 */
export const SLOTS_REFRESH_MS = 1_000;

/** Whether `redis` names a cluster: an ioredis Cluster, or options with `cluster`. */
export function isClusterTarget(redis: unknown): boolean {
  if (typeof redis !== 'object' || redis === null) return false;
  if (isRedisClient(redis)) return (redis as { isCluster?: unknown }).isCluster === true;
  return 'cluster' in redis;
}

/** Checks the options form; returns why it is wrong, or undefined. */
export function clusterTargetProblem(redis: object): string | undefined {
  if (isRedisClient(redis)) return undefined;
  const nodes = (redis as { cluster?: unknown }).cluster;
  if (!Array.isArray(nodes) || nodes.length === 0) {
    return 'redis.cluster must be a non-empty array of { host, port }';
  }
  for (const node of nodes) {
    const { host, port } = (node ?? {}) as { host?: unknown; port?: unknown };
    if (
      typeof host !== 'string' ||
      host === '' ||
      !Number.isInteger(port) ||
      (port as number) < 1 ||
      (port as number) > 65535
    ) {
      return 'redis.cluster must be a non-empty array of { host, port } (port 1-65535)';
    }
  }
  const prefix = (redis as { redisOptions?: { keyPrefix?: unknown } }).redisOptions?.keyPrefix;
  if (prefix !== undefined && prefix !== '') return 'keyPrefix';
  return undefined;
}

/** What an ioredis Cluster offers that the connection code uses. */
export interface ClusterLike {
  duplicate(startupNodes?: ClusterNode[], options?: object): ClusterLike;
}

export type ClusterConstructor<C> = new (nodes: ClusterNode[], options: object) => C;

/**
 * The startup nodes and options of a command connection to the cluster of
 * `options` (the options form): lazy, named `name`, with ringcast's defaults.
 */
export function clusterCommandOptions(
  options: ClusterTargetOptions,
  name: string,
): { nodes: ClusterNode[]; options: Record<string, unknown> } {
  const { cluster: nodes, ...rest } = options;
  return {
    nodes,
    options: {
      slotsRefreshInterval: SLOTS_REFRESH_MS,
      ...rest,
      lazyConnect: true,
      redisOptions: {
        ...(rest['redisOptions'] as object | undefined),
        connectionName: name,
        maxRetriesPerRequest: null,
      },
    },
  };
}

/**
 * The command connection and the sharded subscriber for a cluster target. A
 * Cluster the caller gave stays theirs (never closed here); the subscriber is
 * always a duplicate with `shardedSubscribers`.
 */
export function openClusterConnections<C>(
  redis: object,
  name: string,
  Cluster: ClusterConstructor<C>,
): ConnectionPair<C> {
  const redisOptions = { connectionName: name, maxRetriesPerRequest: null };
  const subscriberOptions = {
    lazyConnect: true,
    shardedSubscribers: true,
    slotsRefreshInterval: SLOTS_REFRESH_MS,
  };
  if (isRedisClient(redis)) {
    const client = redis as unknown as ClusterLike & { options?: { redisOptions?: object } };
    const subscriber = client.duplicate([], {
      ...subscriberOptions,
      redisOptions: { ...client.options?.redisOptions, ...redisOptions },
    }) as unknown as C;
    return { command: client as unknown as C, subscriber, ownsCommand: false };
  }
  const { nodes, options: base } = clusterCommandOptions(redis as ClusterTargetOptions, name);
  const command = new Cluster(nodes, base);
  const subscriber = new Cluster(nodes, { ...base, ...subscriberOptions });
  return { command, subscriber, ownsCommand: true };
}
