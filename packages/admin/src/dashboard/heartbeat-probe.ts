/**
 * Between two reads of the cluster view, the dashboard asks Redis only how
 * old each watched worker's heartbeat is: one PTTL per worker, pipelined.
 * Cheap enough to run ten times a second, so a worker that stops beating
 * shows as missing within a tenth of a second of its heartbeat turning late.
 */
import { names } from '@ringcast/protocol';
import type { Redis } from 'ioredis';
import { heartbeatAge, type LiveWorker } from '../cluster-view.js';
import type { BeatProbe } from './worker-states.js';

/** PTTL's answer for a key that does not exist. */
const NO_KEY = -2;

/** Each worker's heartbeat, by id. Throws what the Redis client throws. */
export async function probeHeartbeats(
  redis: Pick<Redis, 'pipeline'> & { readonly isCluster?: boolean },
  namespace: string,
  workers: readonly LiveWorker[],
): Promise<Map<string, BeatProbe>> {
  const probes = new Map<string, BeatProbe>();
  if (workers.length === 0) return probes;
  const n = names(namespace, { cluster: redis.isCluster === true });
  const pipeline = redis.pipeline();
  for (const worker of workers) pipeline.pttl(n.heartbeatKey(worker.id));
  const replies = (await pipeline.exec()) ?? [];
  workers.forEach((worker, i) => {
    const [error, pttl] = replies[i] ?? [new Error('no reply')];
    if (error) throw error;
    probes.set(
      worker.id,
      pttl === NO_KEY
        ? { expired: true }
        : { expired: false, ageMs: heartbeatAge(worker.info.heartbeatTtlMs, pttl as number) },
    );
  });
  return probes;
}
