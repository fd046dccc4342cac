/**
 * A worker core for tests of both cores in one process: on the in-memory
 * Redis, with a heartbeat fast enough for virtual-time tests of liveness and
 * adoption. Test-only: excluded from the build.
 */
import { type MemoryRedis, names } from '@ringcast/protocol';
import type { Handler, Worker } from '@ringcast/worker';
import { createWorkerCore, MemoryWorkerTransport } from '@ringcast/worker/internal';

export function fastWorkerCore(
  redis: MemoryRedis,
  namespace: string,
  handlers: Record<string, Handler>,
  id = 'w1',
): Worker {
  return createWorkerCore(
    {
      id,
      namespace,
      logger: false,
      concurrency: 4,
      heartbeatIntervalMs: 100,
      heartbeatTtlMs: 400,
      handlers,
    },
    new MemoryWorkerTransport(redis, names(namespace), id),
  );
}
