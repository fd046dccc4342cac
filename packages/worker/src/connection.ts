import { type ConnectionPair, isRedisClient, openConnections } from '@ringcast/protocol';
import { Redis, type RedisOptions } from 'ioredis';

export type Connections = ConnectionPair<Redis>;

/** Opens the command and subscriber connections from a URL, ioredis options, or a client. */
export function connect(redis: string | RedisOptions | Redis, name: string): Connections {
  return openConnections<Redis, RedisOptions>(redis, name, (target, defaults) =>
    typeof target === 'string'
      ? new Redis(target, defaults)
      : new Redis({ ...target, ...defaults }),
  );
}

/** `host:port` of a Redis target, without credentials, for log lines. */
export function describeRedis(redis: string | RedisOptions | Redis): string {
  if (typeof redis === 'string') {
    try {
      const url = new URL(redis);
      return `${url.hostname}:${url.port || '6379'}`;
    } catch {
      return '(unparsable URL)';
    }
  }
  const options = isRedisClient(redis) ? (redis as Redis).options : (redis as RedisOptions);
  if (options.path) return options.path;
  return `${options.host ?? '127.0.0.1'}:${options.port ?? 6379}`;
}
