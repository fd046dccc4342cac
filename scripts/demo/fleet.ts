// The demo's workers: `ringcast-worker` processes against a real Redis, or in-process
// workers against the embedded stand-in. Either way they can be killed without warning.
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createWorker, type Handler, type Worker } from '@ringcast/worker';
import type { Redis } from 'ioredis';
import { spawnWorker, type WorkerProcess } from '../../test/support/workers.js';
import { embeddedRedis, sever } from './embedded-redis.js';

export const HANDLERS = fileURLToPath(new URL('./handlers.js', import.meta.url));

/** Fast failure detection, so a dead worker is noticed within two seconds, not four. */
export const HEARTBEAT_INTERVAL_MS = 250;
export const HEARTBEAT_TTL_MS = 1_500;

export interface WorkerSpec {
  id: string;
  weight: number;
  concurrency: number;
}

export interface Fleet {
  /** Starts a worker and resolves once it is registered. */
  start(spec: WorkerSpec): Promise<void>;
  /** Kills a worker the hard way: no drain, no leave, results in flight are lost. */
  kill(id: string): Promise<void>;
  /** What `kill` does, in words. */
  readonly killVerb: string;
  /** Stops every live worker; gracefully unless `force`. Idempotent per worker. */
  close(force?: boolean): Promise<void>;
}

/** Workers as `ringcast-worker` processes, the way users run them. */
export function processFleet(
  url: string,
  namespace: string,
  cluster?: { spec: string; nodes: ReadonlyArray<{ host: string; port: number }> },
): Fleet {
  const live = new Map<string, WorkerProcess>();
  return {
    killVerb: 'killed with SIGKILL',
    async start(spec) {
      const worker = await spawnWorker({
        url,
        ...(cluster && { cluster }),
        namespace,
        id: spec.id,
        weight: spec.weight,
        concurrency: spec.concurrency,
        handlers: HANDLERS,
        heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
        heartbeatTtlMs: HEARTBEAT_TTL_MS,
        drainTimeoutMs: 2_000,
      });
      live.set(spec.id, worker);
    },
    async kill(id) {
      const worker = live.get(id);
      live.delete(id);
      await worker?.kill('SIGKILL');
    },
    async close(force = false) {
      const workers = [...live.values()];
      live.clear();
      await Promise.all(workers.map((w) => (force ? w.kill('SIGKILL') : w.stop())));
    },
  };
}

type HandlerModule = Record<string, unknown>;

/** Workers in this process, on the embedded stand-in; `kill` cuts their connections. */
export async function embeddedFleet(
  namespace: string,
  onWarning: (message: string) => void,
): Promise<Fleet> {
  const mod = (await import(pathToFileURL(HANDLERS).href)) as HandlerModule;
  const handlers: Record<string, Handler> = {};
  for (const [name, fn] of Object.entries(mod)) {
    if (typeof fn === 'function') handlers[name] = fn as Handler;
  }
  const live = new Map<string, { worker: Worker; redis: Redis; mute(): void }>();
  return {
    killVerb: 'killed (connections cut, no drain)',
    async start(spec) {
      const redis = embeddedRedis({ lazyConnect: true });
      let muted = false;
      const warn = (message: string) => {
        if (!muted) onWarning(message);
      };
      const worker = createWorker({
        redis,
        namespace,
        id: spec.id,
        weight: spec.weight,
        concurrency: spec.concurrency,
        handlers,
        heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
        heartbeatTtlMs: HEARTBEAT_TTL_MS,
        drainTimeoutMs: 2_000,
        logger: { info() {}, warn, error: warn },
      });
      await worker.start();
      live.set(spec.id, { worker, redis, mute: () => (muted = true) });
    },
    async kill(id) {
      const entry = live.get(id);
      if (!entry) return;
      live.delete(id);
      // Like a dead process: its heartbeat stops, nothing more reaches or leaves it, and
      // the results of handlers still running are lost. It says nothing more, either.
      entry.mute();
      sever(entry.redis);
    },
    async close() {
      const workers = [...live.values()].map((e) => e.worker);
      live.clear();
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
