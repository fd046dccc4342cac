/**
 * The dashboard's Redis connections. Unlike the one-shot commands' (see
 * ../connection.ts), they outlive an outage: they reconnect for as long as
 * the dashboard runs. The reader has no offline queue, so a read during an
 * outage fails at once and the page shows the outage instead of waiting for
 * it; the subscriber queues its SUBSCRIBE and renews it after each reconnect.
 * Errors surface through failed reads, never as an unheard 'error' event.
 */
import { SLOTS_REFRESH_MS, type TlsMaterial } from '@ringcast/protocol';
import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** A Redis URL, or the startup nodes of a Redis Cluster. */
export type LiveTarget = string | ReadonlyArray<{ host: string; port: number }>;

/** How long one read may wait for its answer before the dashboard calls Redis unreachable. */
export const READ_TIMEOUT_MS = 2_000;
/** The longest pause between two reconnect attempts. */
export const MAX_RECONNECT_DELAY_MS = 1_000;

const COMMON: RedisOptions = {
  lazyConnect: true,
  connectTimeout: READ_TIMEOUT_MS,
  retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
};

/** Opens the connection the dashboard reads through. */
export function openReader(url: LiveTarget, tls?: TlsMaterial): Redis {
  return open(url, tls, {
    ...COMMON,
    connectionName: 'ringcast-dashboard',
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: READ_TIMEOUT_MS,
  });
}

/** Opens the connection that hears the control channel (hello, leave). */
export function openSubscriber(url: LiveTarget, tls?: TlsMaterial): Redis {
  return open(url, tls, {
    ...COMMON,
    connectionName: 'ringcast-dashboard-events',
    maxRetriesPerRequest: null,
  });
}

function open(url: LiveTarget, tls: TlsMaterial | undefined, options: RedisOptions): Redis {
  const redis =
    typeof url === 'string'
      ? new Redis(url, tls ? { ...options, tls } : options)
      : openCluster(url, options);
  redis.on('error', () => {});
  // A failed first attempt is retried like any reconnect; the reads say how it goes.
  redis.connect().catch(() => {});
  return redis;
}

/** Resolves once `redis` is ready or after `timeoutMs`, whichever comes first; never rejects. */
export function readyWithin(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    redis.once('ready', done);
  });
}

/**
 * A Cluster for the dashboard: its nodes' connections like a Redis's here, and
 * sharded subscribers (for the sharded control channel). A Cluster has the
 * commands read here under the same names, so it is typed as a Redis; its
 * `isCluster` tells the reads to use the cluster's names.
 */
function openCluster(
  nodes: ReadonlyArray<{ host: string; port: number }>,
  options: RedisOptions,
): Redis {
  // The cluster retries and queues itself; its nodes' connections take the rest.
  const {
    retryStrategy: _retry,
    enableOfflineQueue,
    lazyConnect: _lazy,
    ...redisOptions
  } = options;
  const cluster = new Cluster([...nodes], {
    lazyConnect: true,
    shardedSubscribers: true,
    slotsRefreshInterval: SLOTS_REFRESH_MS,
    clusterRetryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
    ...(enableOfflineQueue === false && { enableOfflineQueue: false }),
    redisOptions,
  });
  return cluster as unknown as Redis;
}
