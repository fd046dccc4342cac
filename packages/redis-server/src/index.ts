export {
  freePort,
  type RedisServer,
  type RedisServerExit,
  redisServerBinary,
  type StartRedisServerOptions,
  startRedisServer,
} from './redis-server.js';
