import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { names } from '@ringcast/protocol';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { type NodeProcess, spawnNode } from './node-process.js';

export const WORKER_CLI = fileURLToPath(
  new URL('../../packages/worker/dist/cli.js', import.meta.url),
);
export const FIXTURE_HANDLERS = fileURLToPath(new URL('../fixtures/handlers.js', import.meta.url));

export interface SpawnWorkerOptions {
  url: string;
  /** A Redis Cluster instead of `url`: the worker gets `--cluster <spec>`. */
  cluster?: { spec: string; nodes: ReadonlyArray<{ host: string; port: number }> };
  namespace: string;
  id?: string;
  concurrency?: number;
  weight?: number;
  maxQueue?: number;
  handlers?: string;
  heartbeatIntervalMs?: number;
  heartbeatTtlMs?: number;
  drainTimeoutMs?: number;
  env?: Record<string, string>;
  /** More command-line arguments. */
  args?: readonly string[];
  /** Resolve once the worker's heartbeat key exists. @defaultValue true */
  waitReady?: boolean;
  /**
   * How that check connects, when `url` alone cannot do it: options with TLS
   * certificates, or a user allowed to read the heartbeat. @defaultValue url
   */
  probe?: string | RedisOptions;
}

export interface WorkerProcess extends NodeProcess {
  readonly id: string;
  /** SIGTERM and wait: the graceful shutdown path. */
  stop(): Promise<void>;
}

/** Starts a `ringcast-worker` CLI process, the way users start workers. */
export async function spawnWorker(options: SpawnWorkerOptions): Promise<WorkerProcess> {
  const id = options.id ?? `w-${randomUUID().slice(0, 8)}`;
  const args = [
    WORKER_CLI,
    '--handlers',
    options.handlers ?? FIXTURE_HANDLERS,
    ...(options.cluster ? ['--cluster', options.cluster.spec] : ['--redis', options.url]),
    '--namespace',
    options.namespace,
    '--id',
    id,
    '--concurrency',
    String(options.concurrency ?? 16),
    '--heartbeat-interval',
    String(options.heartbeatIntervalMs ?? 200),
    '--heartbeat-ttl',
    String(options.heartbeatTtlMs ?? 1000),
  ];
  if (options.weight !== undefined) args.push('--weight', String(options.weight));
  if (options.maxQueue !== undefined) args.push('--max-queue', String(options.maxQueue));
  if (options.drainTimeoutMs !== undefined)
    args.push('--drain-timeout', String(options.drainTimeoutMs));
  if (options.args) args.push(...options.args);
  const node = spawnNode(args, { env: { ...process.env, ...options.env } });
  const handle: WorkerProcess = {
    ...node,
    id,
    stop: () => node.kill('SIGTERM'),
  };
  if (options.waitReady !== false) {
    if (options.cluster) {
      await waitRegisteredOnCluster(options.cluster.nodes, options.namespace, id, handle);
    } else {
      await waitRegistered(options.probe ?? options.url, options.namespace, id, handle);
    }
  }
  return handle;
}

async function waitRegisteredOnCluster(
  nodes: ReadonlyArray<{ host: string; port: number }>,
  namespace: string,
  id: string,
  worker: WorkerProcess,
): Promise<void> {
  const redis = new Cluster([...nodes], {
    lazyConnect: true,
    redisOptions: { maxRetriesPerRequest: 1 },
  });
  redis.on('error', () => undefined);
  await redis.connect();
  try {
    await pollRegistered(redis, names(namespace, { cluster: true }).heartbeatKey(id), id, worker);
  } finally {
    redis.disconnect();
  }
}

async function pollRegistered(
  redis: { exists(key: string): Promise<number> },
  key: string,
  id: string,
  worker: WorkerProcess,
): Promise<void> {
  const until = Date.now() + 15_000;
  let exited = false;
  void worker.exited.then(() => {
    exited = true;
  });
  while (Date.now() < until && !exited) {
    if ((await redis.exists(key)) === 1) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`worker ${id} did not register in time; output:\n${worker.output()}`);
}

async function waitRegistered(
  target: string | RedisOptions,
  namespace: string,
  id: string,
  worker: WorkerProcess,
): Promise<void> {
  const options = { lazyConnect: true, maxRetriesPerRequest: 1 };
  const redis =
    typeof target === 'string' ? new Redis(target, options) : new Redis({ ...target, ...options });
  await redis.connect();
  const key = names(namespace).heartbeatKey(id);
  const until = Date.now() + 15_000;
  let exited = false;
  void worker.exited.then(() => {
    exited = true;
  });
  try {
    while (Date.now() < until && !exited) {
      if ((await redis.exists(key)) === 1) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`worker ${id} did not register in time; output:\n${worker.output()}`);
  } finally {
    redis.disconnect();
  }
}
