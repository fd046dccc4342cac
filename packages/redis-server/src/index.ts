export {
  type CertificateFiles,
  type Certificates,
  makeCertificates,
  opensslBinary,
} from './certificates.js';
export { reapOrphanedServers } from './orphans.js';
export {
  type RedisCluster,
  type RedisClusterNode,
  redisCliBinary,
  type StartRedisClusterOptions,
  startRedisCluster,
} from './redis-cluster.js';
export {
  freePort,
  type RedisServer,
  type RedisServerExit,
  redisServerBinary,
  type StartRedisServerOptions,
  startRedisServer,
} from './redis-server.js';
export type { RedisServerTls } from './tls-options.js';
