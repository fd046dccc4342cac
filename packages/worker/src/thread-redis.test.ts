import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { restoreBuffers, threadRedis } from './thread-redis.js';

describe('threadRedis', () => {
  it('gives a URL as it is', () => {
    expect(threadRedis('rediss://user:secret@example.com:6380/2')).toEqual({
      target: 'rediss://user:secret@example.com:6380/2',
      omitted: [],
    });
  });

  it('gives a Cluster’s startup nodes and plain options, so the thread opens a Cluster like it', () => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: 7000 }], {
      lazyConnect: true,
      redisOptions: { password: 'secret' },
    });
    const { target } = threadRedis(cluster);
    expect(target).toMatchObject({
      cluster: [{ host: '127.0.0.1', port: 7000 }],
      redisOptions: { password: 'secret' },
    });
    // The options form of a cluster target crosses as it is.
    const options = { cluster: [{ host: 'h', port: 1 }], redisOptions: { username: 'u' } };
    expect(threadRedis(options as never).target).toEqual(options);
    cluster.disconnect();
  });

  it('copies plain options, leaving out and naming what cannot cross to a thread', () => {
    const ca = Buffer.from('certificate');
    const { target, omitted } = threadRedis({
      host: 'example.com',
      port: 6380,
      password: 'secret',
      retryStrategy: () => 100,
      tls: { ca: [ca], rejectUnauthorized: true, checkServerIdentity: () => undefined },
      natMap: { a: { host: 'b', port: 1 } },
      connectTimeout: undefined,
    });
    expect(omitted.sort()).toEqual(['retryStrategy', 'tls.checkServerIdentity']);
    expect(target).toEqual({
      host: 'example.com',
      port: 6380,
      password: 'secret',
      tls: { ca: [ca], rejectUnauthorized: true },
      natMap: { a: { host: 'b', port: 1 } },
    });
    // What crosses must survive a structured clone.
    expect(() => structuredClone(target)).not.toThrow();
  });

  it('leaves out class instances and a __proto__ key', () => {
    const options = JSON.parse('{"host":"h","__proto__":{"polluted":true}}') as object;
    const { target, omitted } = threadRedis({ ...options, agent: new Map() } as never);
    expect(target).toEqual({ host: 'h' });
    expect(Object.getPrototypeOf(target)).toBe(Object.prototype);
    expect(omitted).toEqual(['agent']);
  });

  it("takes an ioredis client's options, without connecting it", () => {
    const client = new Redis({ host: 'example.com', port: 6390, lazyConnect: true, db: 3 });
    try {
      const { target } = threadRedis(client);
      expect(target).toMatchObject({ host: 'example.com', port: 6390, db: 3 });
      expect(() => structuredClone(target)).not.toThrow();
    } finally {
      client.disconnect();
    }
  });

  it('gives a stand-in client no thread: its options say nothing of a real Redis', () => {
    const mock = { duplicate() {}, publish() {}, options: {} };
    expect(threadRedis(mock as never)).toMatchObject({ target: undefined });
  });
});

describe('restoreBuffers', () => {
  it('turns cloned byte arrays back into Buffers, anywhere', () => {
    const restored = restoreBuffers(
      structuredClone({ tls: { ca: [Buffer.from('a')], key: Buffer.from('k') }, port: 1 }),
    ) as { tls: { ca: Buffer[]; key: Buffer }; port: number };
    expect(Buffer.isBuffer(restored.tls.ca[0])).toBe(true);
    expect(restored.tls.key.toString()).toBe('k');
    expect(restored.port).toBe(1);
  });
});
