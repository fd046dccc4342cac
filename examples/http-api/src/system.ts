// The whole example as one handle: a private redis-server (unless given a Redis), the HTTP
// API with its dispatcher, and `ringcast-worker` processes. `npm run example` runs on it,
// and so do tests that need a live deployment. It stops exactly what it started.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Dispatcher } from '@ringcast/dispatcher';
import { DEFAULT_NAMESPACE, errorMessage } from '@ringcast/protocol';
import { type RedisServer, redisServerBinary, startRedisServer } from '@ringcast/redis-server';
import { deleteNamespace } from './namespace-keys.js';
import { type Api, startApi } from './server.js';
import type { Tasks } from './tasks.js';
import { type LogLevel, spawnWorkerProcess, type WorkerProcess } from './worker-process.js';

export interface WorkerSpec {
  /** 1 to 128 of `[A-Za-z0-9_.-]`. @defaultValue `worker-<n>`, the next number not taken */
  id?: string;
  /** Its share of tasks relative to the other workers'. @defaultValue 1 */
  weight?: number;
  /** Handlers it runs at once. @defaultValue 8 × weight */
  concurrency?: number;
  /** Serve Prometheus metrics on this port at `/metrics`; 0 for any free port. @defaultValue none */
  metricsPort?: number;
}

export interface SystemOptions {
  /** A Redis to use instead of starting a private redis-server from the PATH. */
  redisUrl?: string;
  /**
   * @defaultValue `'ringcast'` on the private redis-server; on `redisUrl`, `example-<random>`,
   * whose keys `stop()` removes
   */
  namespace?: string;
  /** The workers to start, or how many (weights 1, 2, 3, …). @defaultValue 3 */
  workers?: number | readonly WorkerSpec[];
  /** @defaultValue 0, any free port */
  apiPort?: number;
  /** @defaultValue '127.0.0.1' */
  apiHost?: string;
  /**
   * Each line the workers and the API's dispatcher write, prefixed `[worker-1]`, `[api]`;
   * `warn` for their warnings and errors. @defaultValue discarded
   */
  log?: (line: string, level: LogLevel) => void;
  /** How long a worker may take to start and join. @defaultValue 15_000 */
  joinTimeoutMs?: number;
}

export interface WorkerInfo {
  id: string;
  pid: number;
  weight: number;
  concurrency: number;
  /** Where it serves `/metrics`, when started with a `metricsPort`. */
  metricsUrl: string | undefined;
}

export interface System {
  /** The Redis everything runs on: the private one's, or `redisUrl` as given. */
  readonly redisUrl: string;
  readonly namespace: string;
  /** `http://127.0.0.1:<port>` */
  readonly apiUrl: string;
  /** The ids of the workers it started that still run, oldest first. */
  readonly workers: string[];
  /** The pid of the redis-server it started; undefined on `redisUrl`. */
  readonly redisPid: number | undefined;
  /** The dispatcher inside the API. */
  readonly dispatcher: Dispatcher<Tasks>;
  /** A running worker it started. */
  worker(id: string): WorkerInfo | undefined;
  /** Starts one more worker; resolves with its id once the API's dispatcher sees it healthy. */
  addWorker(spec?: WorkerSpec): Promise<string>;
  /** Sends `signal` to a worker it started and waits for the process to exit. */
  killWorker(id: string, signal?: NodeJS.Signals): Promise<void>;
  /** Stops the API, then its workers (SIGTERM, drained), then its redis-server. Idempotent. */
  stop(): Promise<void>;
}

export const DEFAULT_WORKERS = 3;
const CONCURRENCY_PER_WEIGHT = 8;
const DEFAULT_JOIN_TIMEOUT_MS = 15_000;
/** A worker's drain (2 s) and its CLI's own grace, before SIGKILL. */
const WORKER_STOP_TIMEOUT_MS = 8_000;

export const REDIS_SERVER_MISSING =
  'redis-server is not on the PATH: install it (e.g. apt-get install redis-server) ' +
  'or point the example at a Redis with REDIS_URL=redis://host:port';

/** Throws {@link REDIS_SERVER_MISSING} without a Redis URL or a redis-server to start. */
export function assertRedisAvailable(redisUrl: string | undefined): void {
  if (redisUrl === undefined && !redisServerBinary()) throw new Error(REDIS_SERVER_MISSING);
}

export async function startSystem(options: SystemOptions = {}): Promise<System> {
  const log = options.log ?? (() => {});
  assertRedisAvailable(options.redisUrl);
  const ownsNamespace = options.redisUrl !== undefined && options.namespace === undefined;
  const namespace =
    options.namespace ??
    (ownsNamespace ? `example-${randomUUID().slice(0, 8)}` : DEFAULT_NAMESPACE);
  const joinTimeoutMs = options.joinTimeoutMs ?? DEFAULT_JOIN_TIMEOUT_MS;
  const processes = new Map<string, WorkerProcess>();
  let redisUrl = options.redisUrl ?? '';
  let redis: RedisServer | undefined;
  let api: Api | undefined;
  let stopping: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await api
        ?.close()
        .catch((error: unknown) => log(`[api] close: ${errorMessage(error)}`, 'warn'));
      await Promise.all([...processes.values()].map(stopWorker));
      await redis?.stop();
      if (ownsNamespace) {
        // A lent Redis gets its namespace back empty: no reports, no registry entries.
        await deleteNamespace(redisUrl, namespace).catch((error: unknown) => {
          log(`[system] could not remove namespace ${namespace}: ${errorMessage(error)}`, 'warn');
        });
      }
    })();
    return stopping;
  };

  const addWorker = async (spec: WorkerSpec = {}): Promise<string> => {
    if (!api || stopping) throw new Error('the system is stopped');
    const id = spec.id ?? nextId(processes);
    if (processes.get(id)?.running) throw new Error(`worker ${id} is running already`);
    const weight = spec.weight ?? 1;
    const worker = spawnWorkerProcess({
      redisUrl,
      namespace,
      id,
      weight,
      concurrency: spec.concurrency ?? CONCURRENCY_PER_WEIGHT * weight,
      ...(spec.metricsPort === undefined ? {} : { metricsPort: spec.metricsPort }),
      onLine: (line, level) => log(`[${id}] ${line}`, level),
    });
    processes.set(id, worker);
    await joined(api.dispatcher, worker, joinTimeoutMs);
    return id;
  };

  try {
    if (options.redisUrl === undefined) {
      // Detached like the workers, so that it stops last, after everything using it.
      redis = await startRedisServer({ detached: true });
      redisUrl = redis.url;
    }
    api = await startApi({
      redisUrl,
      namespace,
      port: options.apiPort ?? 0,
      host: options.apiHost ?? '127.0.0.1',
      log: (line, level) => log(`[api] ${line}`, level),
    });
    await Promise.all(workerSpecs(options.workers).map((spec) => addWorker(spec)));
  } catch (error) {
    await stop();
    throw error;
  }

  const started = api;
  return {
    redisUrl,
    namespace,
    apiUrl: started.url,
    dispatcher: started.dispatcher,
    get workers() {
      return [...processes.values()].filter((w) => w.running).map((w) => w.id);
    },
    get redisPid() {
      return redis?.pid;
    },
    worker(id) {
      const w = processes.get(id);
      if (!w?.running) return undefined;
      const { pid, weight, concurrency, metricsUrl } = w;
      return { id, pid, weight, concurrency, metricsUrl };
    },
    addWorker,
    async killWorker(id, signal = 'SIGKILL') {
      const worker = processes.get(id);
      if (!worker) throw new Error(`no worker ${id} was started by this system`);
      await worker.kill(signal);
    },
    stop,
  };
}

function workerSpecs(workers: SystemOptions['workers']): readonly WorkerSpec[] {
  if (typeof workers === 'object') return workers;
  return Array.from({ length: workers ?? DEFAULT_WORKERS }, (_, i) => ({ weight: i + 1 }));
}

function nextId(taken: ReadonlyMap<string, unknown>): string {
  let n = taken.size + 1;
  while (taken.has(`worker-${n}`)) n++;
  return `worker-${n}`;
}

/** Waits until the dispatcher sees this very process (its pid) healthy in the registry. */
async function joined(
  dispatcher: Dispatcher<Tasks>,
  worker: WorkerProcess,
  timeoutMs: number,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  const seen = () =>
    dispatcher.workers().some((w) => w.id === worker.id && w.pid === worker.pid && w.healthy);
  while (!seen()) {
    if (!worker.running) {
      await worker.exited;
      throw new Error(`worker ${worker.id} exited before it joined:\n${worker.tail()}`);
    }
    if (Date.now() > until) {
      throw new Error(`worker ${worker.id} did not join within ${timeoutMs} ms:\n${worker.tail()}`);
    }
    await delay(20);
  }
}

async function stopWorker(worker: WorkerProcess): Promise<void> {
  const patience = new AbortController();
  const late = delay(WORKER_STOP_TIMEOUT_MS, true, { signal: patience.signal }).catch(() => false);
  const stopped = worker.kill('SIGTERM').then(() => false);
  const overdue = await Promise.race([stopped, late]);
  patience.abort();
  if (overdue) await worker.kill('SIGKILL');
}
