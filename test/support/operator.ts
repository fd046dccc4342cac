/**
 * What the admin CLI (`ringcast reweight`, `ringcast drain`) does to a live
 * worker, by hand: the weight policy hash, then a frame on the worker's own
 * channel. Resolves with PUBLISH's receiver count (1: the worker heard it).
 */
import { encode, type Message, names } from '@ringcast/protocol';
import type { Redis } from 'ioredis';

export async function reweight(
  redis: Redis,
  namespace: string,
  id: string,
  weight: number,
  incarnation?: string,
): Promise<number> {
  const n = names(namespace);
  await redis.hset(n.weightsKey, id, String(weight));
  return publishTo(redis, namespace, id, {
    kind: 'reweight',
    id,
    weight,
    ...(incarnation ? { incarnation } : {}),
  });
}

/** `ringcast reweight <id> --reset`: the policy entry goes; the worker notices with its next beat. */
export async function resetWeight(redis: Redis, namespace: string, id: string): Promise<void> {
  await redis.hdel(names(namespace).weightsKey, id);
}

export function drain(
  redis: Redis,
  namespace: string,
  id: string,
  incarnation?: string,
): Promise<number> {
  return publishTo(redis, namespace, id, {
    kind: 'drain',
    id,
    ...(incarnation ? { incarnation } : {}),
  });
}

export function publishTo(
  redis: Redis,
  namespace: string,
  id: string,
  ...messages: Message[]
): Promise<number> {
  return redis.publish(names(namespace).workerChannel(id), encode(messages));
}
