import { createDispatcher, type Dispatcher } from '@ringcast/dispatcher';
import { afterEach } from 'vitest';
import { eventually } from '../worker/fake-dispatcher.js';
import { type RedisHandle, useRedis } from './redis.js';
import { track } from './track.js';
import { type SpawnWorkerOptions, spawnWorker, type WorkerProcess } from './workers.js';

/** A deployment of real processes for the tests of one describe block. */
export interface TestDeployment {
  readonly redis: RedisHandle;
  /** Starts a `ringcast-worker` process in `namespace`; killed after the test. */
  spawnWorker(
    namespace: string,
    options?: Omit<SpawnWorkerOptions, 'url' | 'namespace'>,
  ): Promise<WorkerProcess>;
  /** Starts a dispatcher in `namespace` once it sees every worker started there; closed after the test. */
  dispatcher(namespace: string): Promise<Dispatcher>;
}

/**
 * Call at the top of a describe block: the file's Redis ({@link useRedis}),
 * and workers and dispatchers on it that are all closed after each test.
 */
export function useDeployment(): TestDeployment {
  const redis = useRedis();
  const workers: WorkerProcess[] = [];
  const spawned = new Map<string, number>();
  const dispatchers: Dispatcher[] = [];

  afterEach(async () => {
    await Promise.all(dispatchers.splice(0).map((d) => d.close()));
    await Promise.all(workers.splice(0).map((w) => w.kill()));
    spawned.clear();
  });

  return {
    redis,
    async spawnWorker(namespace, options = {}) {
      const worker = await spawnWorker({ url: redis.url, namespace, ...options });
      workers.push(worker);
      spawned.set(namespace, (spawned.get(namespace) ?? 0) + 1);
      return worker;
    },
    async dispatcher(namespace) {
      const d = track(createDispatcher({ redis: redis.url, namespace, logger: false }));
      dispatchers.push(d);
      await d.start();
      await eventually(() => d.workers().length === (spawned.get(namespace) ?? 0));
      return d;
    },
  };
}
