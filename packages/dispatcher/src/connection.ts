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

/** Makes the two connections from a URL, ioredis options, or a client the caller owns. */
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
