// The registry keeps no dead worker's entry for long (issue 13, defect 11):
// dispatchers prune entries whose heartbeat lapsed, atomically, and never while
// they hold their liveness judgement after a Redis stall or reconnect.
import { createDispatcher, type Dispatcher } from '@ringcast/dispatcher';
import { names, type WorkerInfo } from '@ringcast/protocol';
import { createWorker } from '@ringcast/worker';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { redisAvailability, uniqueNamespace, useRedis } from '../support/redis.js';
import { track } from '../support/track.js';
import { eventually } from '../worker/fake-dispatcher.js';

function deadInfo(id: string): WorkerInfo {
  return {
    id,
    incarnation: `inc-${id}`,
    weight: 1,
    concurrency: 1,
    maxQueue: 0,
    maxMessageBytes: 1024 * 1024,
    heartbeatTtlMs: 1_000,
    handlers: ['echo'],
    host: 'gone',
    pid: 1,
    version: '0',
    startedAt: 1,
  };
}

describe.skipIf(!redisAvailability.available)('registry pruning', () => {
  const redis = useRedis();

  async function setup(namespace: string) {
    const raw = track(new Redis(redis.url));
    const worker = track(
      createWorker({
        redis: redis.url,
        namespace,
        id: 'alive',
        handlers: { echo: (p) => p },
        logger: false,
        heartbeatIntervalMs: 100,
        heartbeatTtlMs: 500,
      }),
    );
    await worker.start();
    const d: Dispatcher = track(
      createDispatcher({ redis: redis.url, namespace, logger: false, reconcileIntervalMs: 100 }),
    );
    return { raw, worker, d, n: names(namespace) };
  }

  async function writeDead(raw: Redis, registryKey: string, count: number): Promise<void> {
    const fields: string[] = [];
    for (let i = 0; i < count; i++) fields.push(`dead-${i}`, JSON.stringify(deadInfo(`dead-${i}`)));
    // An entry no dispatcher can read, and one whose heartbeat holds a newer incarnation.
    fields.push('junk', '{"not": "a worker"');
    await raw.hset(registryKey, ...fields);
  }

  it('prunes entries whose heartbeat lapsed; live ones stay', async () => {
    const namespace = uniqueNamespace();
    const { raw, worker, d, n } = await setup(namespace);
    await writeDead(raw, n.registryKey, 500);
    // Restarting under the same id: the heartbeat is the new process's, the entry not yet.
    await raw.hset(n.registryKey, 'restarting', JSON.stringify(deadInfo('restarting')));
    await raw.set(n.heartbeatKey('restarting'), 'a-newer-incarnation', 'PX', 60_000);
    expect(await raw.hlen(n.registryKey)).toBe(503);
    await d.start();
    await eventually(
      async () => (await raw.hlen(n.registryKey)) === 2,
      5_000,
      'the dead entries pruned',
    );
    expect((await raw.hkeys(n.registryKey)).sort()).toEqual(['alive', 'restarting']);
    expect(d.workers().map((w) => w.id)).toEqual(['alive']);
    expect(await d.dispatch('echo', 'still here')).toBe('still here');
    await d.close();
    await worker.close();
    await raw.quit();
  });

  it('prunes nothing while it holds its liveness judgement after a reconnect', async () => {
    const namespace = uniqueNamespace();
    const { raw, worker, d, n } = await setup(namespace);
    await d.start();
    // Kill the dispatcher's command connection; it reconnects and, not knowing what
    // it missed, judges no heartbeat lapse for one worker TTL (here the default, 3 s).
    const list = (await raw.client('LIST')) as string;
    const commandClient = list
      .split('\n')
      .find(
        (line) => line.includes(`name=ringcast:dispatcher:${d.id} `) && !/flags=\w*P/.test(line),
      );
    const clientId = /\bid=(\d+)/.exec(commandClient ?? '')?.[1];
    expect(clientId).toBeDefined();
    await raw.client('KILL', 'ID', clientId!);
    await eventually(
      async () =>
        ((await raw.client('LIST')) as string)
          .split('\n')
          .some(
            (line) =>
              line.includes(`name=ringcast:dispatcher:${d.id} `) &&
              !/flags=\w*P/.test(line) &&
              !line.includes(`id=${clientId} `),
          ),
      5_000,
      'the reconnect',
    );
    const reconnected = Date.now();
    await writeDead(raw, n.registryKey, 50);
    // Several reconcile rounds inside the hold: nothing goes.
    await new Promise((r) => setTimeout(r, 800));
    if (Date.now() - reconnected < 2_500) expect(await raw.hlen(n.registryKey)).toBe(52);
    await eventually(
      async () => (await raw.hlen(n.registryKey)) === 1,
      8_000,
      'the dead entries pruned after the hold',
    );
    expect(Date.now() - reconnected).toBeGreaterThanOrEqual(2_500);
    await d.close();
    await worker.close();
    await raw.quit();
  });
});
