// One private Redis Cluster per test file (3 masters, 3 replicas), reused by its tests.
import { afterAll, beforeAll } from 'vitest';
import {
  type RedisCluster,
  redisCliBinary,
  redisServerBinary,
  startRedisCluster,
} from './redis-server.js';

/** Whether tests can start a cluster: redis-server and redis-cli are both on the PATH. */
export const clusterAvailable: boolean =
  redisServerBinary() !== undefined && redisCliBinary() !== undefined;

/** Starts a cluster before the file's tests and stops it after; read `.current` inside tests. */
export function useRedisCluster(): { readonly current: RedisCluster } {
  let cluster: RedisCluster | undefined;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  return {
    get current(): RedisCluster {
      if (!cluster) throw new Error('the cluster is not started');
      return cluster;
    },
  };
}
