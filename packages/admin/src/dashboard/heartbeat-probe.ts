/**
 * Between two reads of the cluster view, the dashboard asks Redis only how
 * old each watched worker's heartbeat is: from the heartbeat deadlines every
 * beat writes (protocol's registry-log.ts), one ZMSCORE for all the watched
 * workers and Redis's TIME beside it, two commands per probe whatever the
 * fleet's size (a PTTL per worker was 10,000 commands a second at 1,000
 * workers). Cheap enough to run ten times a second, so a worker that stops
 * beating shows as missing within a tenth of a second of its heartbeat
 * turning late.
 */
import { names } from '@ringcast/protocol';
import type { Redis } from 'ioredis';
import { heartbeatAge, type LiveWorker } from '../cluster-view.js';
import type { BeatProbe } from './worker-states.js';

/** Each worker's heartbeat, by id. Throws what the Redis client throws. */
export async function probeHeartbeats(
  redis: Pick<Redis, 'pipeline'> & { readonly isCluster?: boolean },
  namespace: string,
  workers: readonly LiveWorker[],
): Promise<Map<string, BeatProbe>> {
  const probes = new Map<string, BeatProbe>();
  if (workers.length === 0) return probes;
  const n = names(namespace, { cluster: redis.isCluster === true });
  const replies =
    (await redis
      .pipeline()
      .time()
      .zmscore(n.heartbeatDeadlinesKey, ...workers.map((w) => w.id))
      .exec()) ?? [];
  const [timeError, time] = replies[0] ?? [new Error('no reply')];
  if (timeError) throw timeError;
  const [scoresError, scores] = replies[1] ?? [new Error('no reply')];
  if (scoresError) throw scoresError;
  const [seconds, micros] = time as [string, string];
  const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  workers.forEach((worker, i) => {
    const score = (scores as Array<string | null>)[i];
    const deadline = score === null || score === undefined ? Number.NaN : Number(score);
    const left = deadline - now;
    probes.set(
      worker.id,
      !(left > 0)
        ? { expired: true }
        : { expired: false, ageMs: heartbeatAge(worker.info.heartbeatTtlMs, left) },
    );
  });
  return probes;
}
