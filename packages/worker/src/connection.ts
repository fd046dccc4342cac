import { isRedisClient } from '@ringcast/protocol';
import { Redis, type RedisOptions } from 'ioredis';

export interface Connections {
  /** Commands and publishes. */
  command: Redis;
  /** Subscriptions only (a connection in subscriber mode can run nothing else). */
  subscriber: Redis;
  /** Whether `command` was made here, and so is ours to close. */
  ownsCommand: boolean;
}

/**
 * Makes the two connections from a URL, ioredis options, or a client the caller
 * owns. Commands wait through reconnects (`maxRetriesPerRequest: null`) rather
 * than fail, because every command the worker sends is safe to send late.
 */
export function connect(redis: string | RedisOptions | Redis, name: string): Connections {
  const shared = { lazyConnect: true, connectionName: name, maxRetriesPerRequest: null } as const;
  if (isRedisClient(redis)) {
    // Duck-typed: ioredis-compatible stand-ins (ioredis-mock) pass as clients too.
    const client = redis as Redis;
    return { command: client, subscriber: client.duplicate(shared), ownsCommand: false };
  }
  const command =
    typeof redis === 'string'
      ? new Redis(redis, shared)
      : new Redis({ ...(redis as RedisOptions), ...shared });
  return { command, subscriber: command.duplicate(), ownsCommand: true };
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
