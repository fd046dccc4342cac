import { createDispatcher } from '@ringcast/dispatcher';
import { names, type WorkerInfo } from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { redisAvailability, uniqueNamespace, useRedis } from '../support/redis.js';
import { registerByHand } from '../support/registry.js';
import { track } from '../support/track.js';
import { eventually } from '../worker/fake-dispatcher.js';

describe.skipIf(!redisAvailability.available)('dispatcher warnings', () => {
  const redis = useRedis();

  it('a flood of one kind of warning does not mute another kind', async () => {
    const ns = uniqueNamespace();
    const n = names(ns);
    const warnings: string[] = [];
    const logger = { info() {}, warn: (line: string) => warnings.push(line), error() {} };
    const d = track(
      createDispatcher({ redis: redis.url, namespace: ns, ackTimeoutMs: 100, logger }),
    );
    await d.start();
    const raw = track(new Redis(redis.url));
    const sub = track(new Redis(redis.url));

    // A flood of garbage on the reply channel: one line, the rest held back.
    for (let i = 0; i < 20; i++) await raw.publish(n.replyChannel(d.id), `garbage ${i}`);
    await eventually(() => warnings.some((line) => line.includes('dropped an invalid frame')));

    // Then a worker that never acknowledges: registered, beating, subscribed, silent.
    const info: WorkerInfo = {
      id: 'silent',
      incarnation: 'inc-s',
      weight: 1,
      concurrency: 1,
      maxQueue: 0,
      maxMessageBytes: 1024 * 1024,
      heartbeatTtlMs: 10_000,
      handlers: ['echo'],
      host: 'nowhere',
      pid: 1,
      version: '0',
      startedAt: Date.now(),
    };
    await sub.subscribe(n.workerChannel(info.id));
    await registerByHand(raw, ns, info, 10_000);
    await eventually(() => d.workers().some((w) => w.id === info.id && w.healthy));
    const pending = d.dispatch('echo', 'x', { timeoutMs: 1_000 }).catch((e: unknown) => e);

    // Its warning is of another kind, so it is not held back behind the flood.
    await eventually(
      () => warnings.some((line) => line.includes('silent did not acknowledge')),
      5_000,
      'the ack-timeout warning',
    );
    expect(warnings.filter((line) => line.includes('invalid frame'))).toHaveLength(1);
    expect(await pending).toBeInstanceOf(Error);

    await Promise.all([raw.quit(), sub.quit()]);
    await d.close();
  });
});
