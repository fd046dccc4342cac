/**
 * The Redis connection of a one-shot tool. Unlike a worker's or a
 * dispatcher's, it never waits for Redis to come back: the operator should
 * hear at once, in one line, that Redis cannot be reached. So no reconnects,
 * a bounded connect (a host that accepts and never answers included) and a
 * bounded wait per command.
 */
import {
  ErrorCode,
  type RedisConnection,
  RingcastError,
  startFailure,
  type TlsMaterial,
  whenReady,
} from '@ringcast/protocol';
import { Cluster, Redis } from 'ioredis';

/** How long connecting may take, the handshake included. */
export const CONNECT_TIMEOUT_MS = 3_000;
/** How long one command may wait for its answer. */
export const COMMAND_TIMEOUT_MS = 10_000;

const DISCONNECT_TIMEOUT_MS = 200;

export interface ConnectOptions {
  /** @defaultValue {@link CONNECT_TIMEOUT_MS} */
  connectTimeoutMs?: number;
  /** The connection's name in `CLIENT LIST`. @defaultValue `'ringcast-admin'` */
  name?: string;
  /** Certificates for a `rediss://` URL (the `--tls-*` flags), over Node's defaults. */
  tls?: TlsMaterial | undefined;
}

/**
 * A connected client for `url`. Throws a `RingcastError` with `REDIS_ERROR`
 * (its message redacted, naming host and port) when Redis cannot be reached
 * or does not answer in time.
 */
export async function connectAdmin(url: string, options: ConnectOptions = {}): Promise<Redis> {
  const timeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
  const redis = new Redis(url, {
    lazyConnect: true,
    connectionName: options.name ?? 'ringcast-admin',
    connectTimeout: timeoutMs,
    commandTimeout: COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    // How long a failed connection's socket may hold the process before it is destroyed (ioredis: 2 s).
    disconnectTimeout: DISCONNECT_TIMEOUT_MS,
    ...(options.tls && { tls: options.tls }),
  });
  // ioredis throws an 'error' nobody hears; the reason of a failed connect comes this way.
  const errors: { last: Error | undefined } = { last: undefined };
  redis.on('error', (error: Error) => {
    errors.last = error;
  });
  let timer: NodeJS.Timeout | undefined;
  const silent = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([whenReady(redis), silent]);
    return redis;
  } catch (error) {
    redis.disconnect();
    const { message, cause } = startFailure(error, errors, url);
    throw new RingcastError(ErrorCode.REDIS_ERROR, `cannot reach Redis: ${message}`, { cause });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A connected client for a Redis Cluster (`--cluster`), bounded like
 * {@link connectAdmin}: no reconnects, a bounded connect and command wait. A
 * Cluster has the commands the tools use under the same names, so it is typed
 * as a Redis; its `isCluster` tells the tools to use the cluster's names.
 */
export async function connectAdminCluster(
  nodes: ReadonlyArray<{ host: string; port: number }>,
  options: Omit<ConnectOptions, 'tls'> = {},
): Promise<Redis> {
  const timeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
  const cluster = new Cluster([...nodes], {
    lazyConnect: true,
    clusterRetryStrategy: () => null,
    redisOptions: {
      connectionName: options.name ?? 'ringcast-admin',
      connectTimeout: timeoutMs,
      commandTimeout: COMMAND_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      disconnectTimeout: DISCONNECT_TIMEOUT_MS,
    },
  });
  const errors: { last: Error | undefined } = { last: undefined };
  cluster.on('error', (error: Error) => {
    errors.last = error;
  });
  let timer: NodeJS.Timeout | undefined;
  const silent = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  const target = { cluster: nodes };
  try {
    await Promise.race([whenReady(cluster as unknown as RedisConnection), silent]);
    return cluster as unknown as Redis;
  } catch (error) {
    cluster.disconnect();
    const { message, cause } = startFailure(error, errors, target);
    throw new RingcastError(ErrorCode.REDIS_ERROR, `cannot reach Redis: ${message}`, { cause });
  } finally {
    clearTimeout(timer);
  }
}
