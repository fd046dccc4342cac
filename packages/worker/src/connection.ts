import { type ConnectionPair, openConnections } from '@ringcast/protocol';
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
