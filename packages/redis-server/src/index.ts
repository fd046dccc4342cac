export {
  type CertificateFiles,
  type Certificates,
  makeCertificates,
  opensslBinary,
} from './certificates.js';
export {
  freePort,
  type RedisServer,
  type RedisServerExit,
  redisServerBinary,
  type StartRedisServerOptions,
  startRedisServer,
} from './redis-server.js';
export type { RedisServerTls } from './tls-options.js';
