/**
 * How the heartbeat thread connects to the worker's Redis. A thread cannot be
 * given the application's client, nor options that hold functions or class
 * instances (structured clone refuses them), so it gets the URL, or a copy of
 * the options (for a client: its `options`) without what cannot cross. What is
 * left out (ioredis's default `retryStrategy`, a custom `checkServerIdentity`,
 * a `secureContext`) falls back to ioredis's defaults in the thread; if the
 * thread cannot connect with them, the worker beats from its main loop instead
 * and says so. Credentials stay in the process, so nothing is redacted here;
 * only option names ever reach a log line. A cluster target (`{ cluster: [...] }`, or a
 * Cluster's startup nodes and options) becomes a Cluster in the thread.
 */
import { type Cluster, Redis, type RedisOptions } from 'ioredis';

export type ThreadRedisTarget = string | Record<string, unknown>;

export interface ThreadRedis {
  /** What to give the thread, or undefined when it cannot have a connection of its own. */
  target: ThreadRedisTarget | undefined;
  /** Option paths left out because they cannot cross to a thread. */
  omitted: string[];
  /** Why there is no target. */
  reason?: string;
}

const MAX_DEPTH = 8;

function isIoredisClient(value: object): value is Redis {
  // Another copy of ioredis in the application is still ioredis; a stand-in
  // (ioredis-mock) is not: its options do not say where a real Redis is, and a
  // thread following them would write to whatever Redis listens on the default port.
  return value instanceof Redis || value.constructor?.name === 'Redis';
}

export function threadRedis(redis: string | RedisOptions | Redis | Cluster): ThreadRedis {
  if (typeof redis === 'string') return { target: redis, omitted: [] };
  const isClient = typeof (redis as { duplicate?: unknown }).duplicate === 'function';
  if (isClient && (redis as { isCluster?: unknown }).isCluster === true) {
    // A Cluster: the thread opens one like it, from its startup nodes and options.
    const cluster = redis as Cluster;
    const omitted: string[] = [];
    const options = cloneable(cluster.options, '', omitted, 0) as Record<string, unknown>;
    const nodes = cloneable(
      (cluster as unknown as { startupNodes: unknown }).startupNodes,
      'startupNodes',
      omitted,
      0,
    );
    return { target: { ...options, cluster: nodes }, omitted };
  }
  if (isClient && !isIoredisClient(redis)) {
    return {
      target: undefined,
      omitted: [],
      reason:
        'the Redis client given is not an ioredis client, so a thread cannot open one like it',
    };
  }
  const source = isClient ? (redis as Redis).options : redis;
  const omitted: string[] = [];
  const target = cloneable(source, '', omitted, 0);
  return { target: (target ?? {}) as Record<string, unknown>, omitted };
}

/** A structured-clone-safe copy of plain data; what is not plain data is left out and named. */
function cloneable(value: unknown, path: string, omitted: string[], depth: number): unknown {
  if (typeof value === 'function' || typeof value === 'symbol') {
    omitted.push(path);
    return undefined;
  }
  if (value === null || typeof value !== 'object') return value;
  // Buffers arrive as Uint8Arrays; the thread turns them back (see restoreBuffers).
  if (ArrayBuffer.isView(value)) return value;
  if (depth >= MAX_DEPTH) {
    omitted.push(path);
    return undefined;
  }
  if (Array.isArray(value)) {
    return value.map((item, i) => cloneable(item, `${path}[${i}]`, omitted, depth + 1));
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    omitted.push(path);
    return undefined;
  }
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (key === '__proto__') continue;
    const cloned = cloneable(item, path ? `${path}.${key}` : key, omitted, depth + 1);
    if (cloned !== undefined) copy[key] = cloned;
  }
  return copy;
}

/** In the thread: byte arrays back to Buffers, which is what TLS options documented as taking. */
export function restoreBuffers(value: unknown): unknown {
  if (value instanceof Uint8Array && !Buffer.isBuffer(value)) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  if (Array.isArray(value)) return value.map(restoreBuffers);
  if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (key !== '__proto__') copy[key] = restoreBuffers(item);
    }
    return copy;
  }
  return value;
}
