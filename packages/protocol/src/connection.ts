/**
 * What ringcast needs of a Redis connection: ioredis, or a compatible stand-in
 * such as ioredis-mock. Structural, so this package stays free of run-time
 * dependencies; the packages that open connections bring ioredis.
 */
export interface RedisConnection {
  /** ioredis's connection state; a stand-in without one is taken to be ready. */
  readonly status?: string;
  connect(): Promise<unknown>;
  quit(): Promise<unknown>;
  disconnect(): void;
  once(event: string, listener: () => void): unknown;
  off(event: string, listener: () => void): unknown;
}

/** A client, as opposed to options for one: duck-typed, so compatible clients work too. */
export function isRedisClient(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { duplicate?: unknown }).duplicate === 'function' &&
    typeof (value as { publish?: unknown }).publish === 'function'
  );
}

/** Connects a lazily created client, or waits for one that is already connecting. */
export async function whenReady(client: RedisConnection): Promise<void> {
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

/** Closes a connection politely, or at once if Redis does not answer within a second. */
export async function closeConnection(client: RedisConnection): Promise<void> {
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

/** The two connections each side keeps. */
export interface ConnectionPair<C> {
  /** Commands and publishes. */
  command: C;
  /** Subscriptions only (a connection in subscriber mode can run nothing else). */
  subscriber: C;
  /** Whether `command` was made here, and so is ours to close. */
  ownsCommand: boolean;
}

/** Options every ringcast connection gets: connect on `whenReady`, and wait through reconnects. */
export function connectionDefaults(name: string) {
  return { lazyConnect: true, connectionName: name, maxRetriesPerRequest: null } as const;
}

/**
 * Makes the command and subscriber connections from a URL, client options, or a
 * client the caller owns (never closed here); the subscriber is always a
 * `duplicate()`. `create` builds a client from a URL or options, so this package
 * needs no Redis library of its own.
 */
export function openConnections<C extends { duplicate(options?: object): C }, O extends object>(
  redis: string | O | C,
  name: string,
  create: (target: string | O, defaults: ReturnType<typeof connectionDefaults>) => C,
): ConnectionPair<C> {
  const defaults = connectionDefaults(name);
  if (isRedisClient(redis)) {
    const client = redis as C;
    return { command: client, subscriber: client.duplicate(defaults), ownsCommand: false };
  }
  const command = create(redis as string | O, defaults);
  return { command, subscriber: command.duplicate(), ownsCommand: true };
}
