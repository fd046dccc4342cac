/**
 * What an operator asks of one live worker, over the worker's own channel:
 * take another weight (`reweight`) or leave gracefully (`drain`). The weight
 * goes into the operator's policy hash first, so it outlives the message: a
 * worker reads the policy when it starts and at every heartbeat, and the
 * message only makes it act at once. Each call waits for the registry to show
 * the outcome, and says what happened rather than throwing for it.
 */
import {
  type DrainMessage,
  ErrorCode,
  encode,
  isValidId,
  MAX_WEIGHT,
  type Names,
  names,
  parseWorkerInfo,
  type ReweightMessage,
  RingcastError,
  type WorkerInfo,
} from '@ringcast/protocol';
import type { Redis } from 'ioredis';
import { readLiveWorker } from './cluster-view.js';
import { poll } from './poll.js';

/** What the control calls need of a Redis client: an ioredis `Redis`. */
export type ControlRedis = Pick<
  Redis,
  'hget' | 'hset' | 'hdel' | 'mget' | 'publish' | 'spublish'
> & {
  /** An ioredis Cluster says so: its names are the cluster's, its worker channels sharded. */
  readonly isCluster?: boolean;
};

/** Names for `redis`: a cluster's (hash-tagged) on a Cluster client. */
function namesFor(redis: { readonly isCluster?: boolean }, namespace: string): Names {
  return names(namespace, { cluster: redis.isCluster === true });
}

/** Publishes on a worker's channel: SPUBLISH on a cluster, where it is sharded. */
async function publishTo(redis: ControlRedis, channel: string, frame: string): Promise<number> {
  return Number(
    await (redis.isCluster === true
      ? redis.spublish(channel, frame)
      : redis.publish(channel, frame)),
  );
}

/** How long `reweight` waits for the registry to show the new weight, by default. */
export const DEFAULT_REWEIGHT_TIMEOUT_MS = 3_000;
/** How long `drain` waits for the worker to leave, by default. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 60_000;

export type ReweightOutcome =
  /** No live worker has that id: nothing was written. */
  | { kind: 'no-live-worker' }
  /** The registry shows the new weight. */
  | { kind: 'taken'; previous: number; weight: number; afterMs: number }
  /** The policy is set, but the registry did not show it in time. */
  | { kind: 'not-taken'; previous: number; current: number | undefined; listeners: number };

/**
 * Sets live worker `id`'s weight in the operator's policy, tells the worker on
 * its channel, and waits up to `timeoutMs` for its registry entry to show it.
 * Throws `INVALID_OPTIONS` for a weight that is not an integer from 1 to
 * `MAX_WEIGHT` or an invalid id.
 */
export async function reweightWorker(
  redis: ControlRedis,
  namespace: string,
  id: string,
  weight: number,
  timeoutMs = DEFAULT_REWEIGHT_TIMEOUT_MS,
): Promise<ReweightOutcome> {
  if (!Number.isInteger(weight) || weight < 1 || weight > MAX_WEIGHT) {
    throw new RingcastError(
      ErrorCode.INVALID_OPTIONS,
      `weight must be an integer from 1 to ${MAX_WEIGHT}, got ${weight}`,
    );
  }
  const n = namesFor(redis, namespace);
  const channel = n.workerChannel(id);
  const info = await readLiveWorker(redis, namespace, id);
  if (info === undefined) return { kind: 'no-live-worker' };
  const started = Date.now();
  await redis.hset(n.weightsKey, id, String(weight));
  const message: ReweightMessage = { kind: 'reweight', id, incarnation: info.incarnation, weight };
  const listeners = await publishTo(redis, channel, encode([message]));
  const taken = await poll(async () => {
    const entry = await registryEntry(redis, n, id);
    return entry?.weight === weight ? entry : undefined;
  }, timeoutMs);
  if (taken !== undefined) {
    return { kind: 'taken', previous: info.weight, weight, afterMs: Date.now() - started };
  }
  const current = (await registryEntry(redis, n, id))?.weight;
  return { kind: 'not-taken', previous: info.weight, current, listeners };
}

/**
 * Removes the operator's weight for `id`: the worker goes back to the weight it
 * was started with at its next heartbeat. True if there was one to remove.
 */
export async function resetWeight(
  redis: ControlRedis,
  namespace: string,
  id: string,
): Promise<boolean> {
  if (!isValidId(id)) {
    throw new RingcastError(
      ErrorCode.INVALID_OPTIONS,
      `${JSON.stringify(id)} is not a valid worker id`,
    );
  }
  return (await redis.hdel(namesFor(redis, namespace).weightsKey, id)) > 0;
}

export type DrainOutcome =
  /** No live worker has that id: nothing was sent. */
  | { kind: 'no-live-worker' }
  /** Nobody listens on the worker's channel: the message reached no one. */
  | { kind: 'not-listening' }
  /** Its registry entry is gone (or belongs to a new process under the same id). */
  | { kind: 'left'; afterMs: number }
  /** It is still registered after the timeout. */
  | { kind: 'still-registered' };

/**
 * Tells live worker `id` to leave gracefully, as `close()` does (it finishes
 * what it took, hands back what it only queued), and waits up to `timeoutMs`
 * for it to leave the registry.
 */
export async function drainWorker(
  redis: ControlRedis,
  namespace: string,
  id: string,
  timeoutMs = DEFAULT_DRAIN_TIMEOUT_MS,
): Promise<DrainOutcome> {
  const n = namesFor(redis, namespace);
  const channel = n.workerChannel(id);
  const info = await readLiveWorker(redis, namespace, id);
  if (info === undefined) return { kind: 'no-live-worker' };
  const started = Date.now();
  const message: DrainMessage = { kind: 'drain', id, incarnation: info.incarnation };
  if ((await publishTo(redis, channel, encode([message]))) === 0) {
    return { kind: 'not-listening' };
  }
  const left = await poll(async () => {
    const entry = await registryEntry(redis, n, id);
    return entry?.incarnation === info.incarnation ? undefined : true;
  }, timeoutMs);
  return left ? { kind: 'left', afterMs: Date.now() - started } : { kind: 'still-registered' };
}

/** Worker `id`'s registry entry, live or not; undefined if there is none that reads. */
async function registryEntry(
  redis: ControlRedis,
  n: Names,
  id: string,
): Promise<WorkerInfo | undefined> {
  const entry = await redis.hget(n.registryKey, id);
  if (entry === null) return undefined;
  try {
    return parseWorkerInfo(JSON.parse(entry));
  } catch {
    return undefined;
  }
}
