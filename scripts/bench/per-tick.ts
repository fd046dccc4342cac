// The batching both sides of the batched baseline share.
import type { Redis } from 'ioredis';

/**
 * Round-robin over `channels`, one PUBLISH per channel per event-loop turn: what
 * the returned function is given waits for the end of the turn, then leaves with
 * the rest of its channel's batch, encoded by `encode`.
 */
export function perTick<T>(
  pub: Redis,
  channels: readonly string[],
  encode: (batch: T[]) => string,
): (message: T) => void {
  const batches: T[][] = channels.map(() => []);
  let rr = 0;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    for (let k = 0; k < channels.length; k++) {
      const batch = batches[k]!;
      if (batch.length === 0) continue;
      batches[k] = [];
      void pub.publish(channels[k]!, encode(batch));
    }
  };
  return (message) => {
    batches[rr++ % channels.length]!.push(message);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}
