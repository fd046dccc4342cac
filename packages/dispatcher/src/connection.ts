import { Redis, type RedisOptions } from 'ioredis';

export interface Connections {
  /** Commands and publishes. */
  command: Redis;
  /** Subscriptions only (a connection in subscriber mode can run nothing else). */
  subscriber: Redis;
  /** Whether `command` was made here, and so is ours to close. */
  ownsCommand: boolean;
}

/** A client, as opposed to options: duck-typed so compatible clients (such as ioredis-mock) work too. */
function isClient(value: string | RedisOptions | Redis): value is Redis {
  return (
    typeof value === 'object' &&
    typeof (value as Partial<Redis>).duplicate === 'function' &&
    typeof (value as Partial<Redis>).publish === 'function'
  );
}

/** Makes the two connections from a URL, ioredis options, or a client the caller owns. */
export function connect(redis: string | RedisOptions | Redis, name: string): Connections {
  const shared = { lazyConnect: true, connectionName: name, maxRetriesPerRequest: null } as const;
  if (isClient(redis)) {
    return { command: redis, subscriber: redis.duplicate(shared), ownsCommand: false };
  }
  const command =
    typeof redis === 'string' ? new Redis(redis, shared) : new Redis({ ...redis, ...shared });
  return { command, subscriber: command.duplicate(), ownsCommand: true };
}

/** Connects a lazily created client, or waits for one that is already connecting. */
export async function ready(client: Redis): Promise<void> {
  // A client without a status (such as ioredis-mock) is usable as soon as it exists.
  if (client.status === 'ready' || client.status === undefined) return;
  if (client.status === 'wait') {
    await client.connect();
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const onReady = () => {
      client.off('end', onEnd);
      resolve();
    };
    const onEnd = () => {
      client.off('ready', onReady);
      reject(new Error('Redis connection ended before it was ready'));
    };
    client.once('ready', onReady);
    client.once('end', onEnd);
  });
}

/** Closes a connection politely, or at once if Redis does not answer. */
export async function disconnect(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  const timer = setTimeout(() => client.disconnect(), 1000);
  try {
    await client.quit();
  } catch {
    client.disconnect();
  } finally {
    clearTimeout(timer);
  }
}
