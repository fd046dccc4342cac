import { createWorker, type Worker } from '@ringcast/worker';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { privateRedisAvailable, uniqueNamespace, usePrivateRedis } from '../support/redis.js';
import { track } from '../support/track.js';
import { eventually, FakeDispatcher } from './fake-dispatcher.js';

describe.skipIf(!privateRedisAvailable)('worker across Redis failures', () => {
  const redis = usePrivateRedis();
  let namespace: string;
  let fake: FakeDispatcher;
  let worker: Worker;

  beforeEach(async () => {
    namespace = uniqueNamespace();
    fake = await FakeDispatcher.create(redis.url, namespace);
    worker = track(
      createWorker({
        redis: redis.url,
        namespace,
        handlers: { echo: (p) => p },
        logger: false,
        heartbeatIntervalMs: 100,
        heartbeatTtlMs: 500,
      }),
    );
    await worker.start();
  });

  afterEach(async () => {
    await worker.close();
    await fake.close();
  });

  async function roundTrip(value: string): Promise<void> {
    const task = fake.task('echo', value);
    await fake.send(worker.id, task);
    expect(await fake.reply('result', task.token)).toMatchObject({ ok: true, value });
  }

  it('re-subscribes, proves it, and re-announces itself after its subscription is killed', async () => {
    await roundTrip('before');
    const hellos = () => fake.control.filter((m) => m.kind === 'hello').length;
    expect(hellos()).toBe(1);
    const clients = (await fake.command.client('LIST')) as string;
    const line = clients
      .split('\n')
      .find((l) => l.includes(`name=ringcast-worker:${worker.id}`) && /flags=\S*P/.test(l));
    const id = /\bid=(\d+)/.exec(line ?? '')?.[1];
    expect(id).toBeDefined();
    await fake.command.client('KILL', 'ID', id!);
    await fake.next(() => hellos() === 2);
    const hello = fake.control.filter((m) => m.kind === 'hello')[1];
    expect(hello).toEqual({ kind: 'hello', worker: worker.info() });
    await roundTrip('after');
  });

  it('re-registers on a Redis that restarted empty, with the same incarnation', async () => {
    const { incarnation } = worker.info();
    await redis.server.restart();
    await eventually(
      async () => (await fake.command.get(fake.names.heartbeatKey(worker.id))) === incarnation,
      15_000,
      'heartbeat restored',
    );
    const stored = await fake.command.hget(fake.names.registryKey, worker.id);
    expect(JSON.parse(stored!)).toEqual(worker.info());
    await eventually(async () => {
      const [, n] = (await fake.command.pubsub('NUMSUB', fake.names.replyChannel(fake.id))) as [
        string,
        number,
      ];
      return n >= 1;
    });
    await roundTrip('after restart');
  });
});
