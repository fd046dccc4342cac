// The durable store contract on a private, real redis-server, in real time;
// and what only a real server can show: its scripts survive a SCRIPT FLUSH.
import { names } from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisStore } from '../../packages/dispatcher/src/durable/redis-store.js';
import {
  describeStoreContract,
  type StoreHarness,
} from '../../packages/dispatcher/src/testing/durable-store-contract.js';
import { privateRedisAvailable, uniqueNamespace, usePrivateRedis } from '../support/redis.js';
import { track } from '../support/track.js';

describe.skipIf(!privateRedisAvailable)('durable store on Redis', () => {
  const redis = usePrivateRedis();

  async function open(): Promise<StoreHarness> {
    const n = names(uniqueNamespace());
    const clients: Redis[] = [];
    const connect = (): Redis => {
      const client = track(new Redis(redis.url));
      clients.push(client);
      return client;
    };
    const raw = connect();
    return {
      names: n,
      store: (announce) => new RedisStore(connect(), n, undefined, announce),
      now: () => Date.now(),
      async keys() {
        const found: string[] = [];
        let cursor = '0';
        do {
          const [next, batch] = await raw.scan(cursor, 'MATCH', `${n.namespace}:*`, 'COUNT', 1000);
          cursor = next;
          found.push(...batch);
        } while (cursor !== '0');
        return [...new Set(found)];
      },
      pttl: (key) => raw.pttl(key),
      hset: async (key, fields) => {
        await raw.hset(key, fields);
      },
      zadd: async (key, score, member) => {
        await raw.zadd(key, score, member);
      },
      smembers: (key) => raw.smembers(key),
      sadd: async (key, members) => {
        await raw.sadd(key, ...members);
      },
      zscore: async (key, member) => {
        const score = await raw.zscore(key, member);
        return score === null ? null : Number(score);
      },
      async listen(channel) {
        const subscriber = connect();
        const messages: string[] = [];
        subscriber.on('message', (_channel: string, message: string) => messages.push(message));
        await subscriber.subscribe(channel);
        return { messages, close: async () => void (await subscriber.quit()) };
      },
      async until(check, what, maxMs = 10_000) {
        const deadline = Date.now() + maxMs;
        while (!(await check())) {
          if (Date.now() >= deadline) throw new Error(`${what}: not within ${maxMs} ms`);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      },
      async close() {
        await Promise.all(clients.map((client) => client.quit()));
      },
    };
  }

  describeStoreContract('Redis', open);

  it('fails alone an operation Redis refuses, the others sent with it standing', async () => {
    const h = await open();
    try {
      const store = h.store();
      const now = Date.now();
      const task = (id: string) => ({
        id,
        handler: 'h',
        priority: 0,
        timeoutMs: 1,
        retries: 0,
        resultTtlMs: 60_000,
      });
      await store.beat('d1', '{}', 'inc-1', 60_000);
      await store.add(task('good'), { now, claimBy: 'd1' });
      // A key of another type where a record should be: every command on it is refused.
      const admin = track(new Redis(redis.url));
      await admin.set(h.names.taskKey('broken'), 'not a hash');
      const outcomes = await Promise.allSettled([
        store.started('good', 'd1', 1, 'w1', now),
        store.started('broken', 'd1', 1, 'w1', now),
        store.settle('broken', 'd1', { state: 'succeeded' }, now),
        store.settle('good', 'd1', { state: 'succeeded', result: 1 }, now),
        store.get('broken'),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual([
        'fulfilled',
        'rejected',
        'rejected',
        'fulfilled',
        'rejected',
      ]);
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') {
          expect(outcome.reason).toMatchObject({
            code: 'REDIS_ERROR',
            message: expect.stringMatching(/WRONGTYPE/),
          });
        }
      }
      expect(outcomes[3]).toMatchObject({ value: { kind: 'settled' } });
      expect(await store.get('good')).toMatchObject({ state: 'succeeded', attempts: 1 });
      await admin.quit();
    } finally {
      await h.close();
    }
  });

  it('runs its scripts again after Redis forgot them (SCRIPT FLUSH)', async () => {
    const h = await open();
    try {
      const store = h.store();
      const now = Date.now();
      const task = {
        id: 't1',
        handler: 'h',
        priority: 0,
        timeoutMs: 1,
        retries: 0,
        resultTtlMs: 1,
      };
      expect(await store.add({ ...task, id: 't0' }, { now })).toBe('added');
      const admin = track(new Redis(redis.url));
      const cachedScripts = async () =>
        Number(/number_of_cached_scripts:(\d+)/.exec(await admin.info('memory'))?.[1]);
      expect(await cachedScripts()).toBeGreaterThan(0);
      await admin.script('FLUSH');
      expect(await cachedScripts()).toBe(0);
      // EVALSHA answers NOSCRIPT; the store sends the script whole, once.
      expect(await store.add(task, { now })).toBe('added');
      expect(await cachedScripts()).toBe(1);
      await store.beat('d1', '{}', 'inc-d1', 60_000);
      expect((await store.claim('d1', 5, now)).map((r) => r.id)).toEqual(['t0', 't1']);
      await admin.quit();
    } finally {
      await h.close();
    }
  });
});
