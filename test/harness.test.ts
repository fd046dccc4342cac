import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { spawnNode } from './support/node-process.js';
import {
  privateRedisAvailable,
  redisAvailability,
  uniqueNamespace,
  useRedis,
} from './support/redis.js';
import { reapOrphanedServers, startRedisServer } from './support/redis-server.js';
import { tlsRedisAvailable, useTlsRedis } from './support/tls.js';
import { expectAllClosed, track } from './support/track.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!privateRedisAvailable)('private redis-server', () => {
  it('answers, pauses, resumes, dies, restarts empty and stops cleanly', async () => {
    const server = await startRedisServer();
    try {
      expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
      const client = track(
        new Redis(server.url, {
          commandTimeout: 300,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
        }),
      );
      expect(await client.ping()).toBe('PONG');
      await client.set('k', 'v');

      server.pause();
      await expect(client.ping()).rejects.toThrow(/timed out/i);
      server.resume();
      expect(await client.get('k')).toBe('v');

      const firstPid = server.pid;
      const ended = once(client, 'end');
      await server.kill();
      expect(isAlive(firstPid)).toBe(false);
      await ended;
      await expect(client.ping()).rejects.toThrow();
      const socket = createConnection({ host: server.host, port: server.port });
      const [error] = await once(socket, 'error');
      expect(error).toMatchObject({ code: 'ECONNREFUSED' });
      client.disconnect();

      await server.restart();
      expect(server.pid).not.toBe(firstPid);
      const again = track(new Redis(server.url));
      expect(await again.dbsize()).toBe(0);
      await again.quit();
    } finally {
      await server.stop();
    }
    expect(isAlive(server.pid)).toBe(false);
    await server.stop();
  });

  it('stop() waits for exit and removes the data dir, even when paused', async () => {
    const server = await startRedisServer();
    const client = track(new Redis(server.url));
    const [, dir] = (await client.config('GET', 'dir')) as [string, string];
    await client.quit();
    expect(existsSync(dir)).toBe(true);
    server.pause();
    await server.stop();
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(dir)).toBe(false);
  });

  it('runs two servers side by side on distinct ports', async () => {
    const [a, b] = await Promise.all([startRedisServer(), startRedisServer()]);
    try {
      expect(a.port).not.toBe(b.port);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('a server whose owner was SIGKILLed (no exit hook) is stopped, and its dir removed, by the next launcher', async () => {
    const launcher = `
      const { startRedisServer } = await import('@ringcast/redis-server');
      const server = await startRedisServer();
      console.log(JSON.stringify({ pid: server.pid, port: server.port }));
      setInterval(() => {}, 1000);`;
    const owner = spawnNode(['--input-type=module', '-e', launcher]);
    const until = Date.now() + 10_000;
    while (!owner.stdout().includes('\n') && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const orphan = JSON.parse(owner.stdout()) as { pid: number; port: number };
    const client = track(new Redis(`redis://127.0.0.1:${orphan.port}`));
    const [, dir] = (await client.config('GET', 'dir')) as [string, string];
    await client.quit();
    await owner.kill('SIGKILL');
    expect(isAlive(orphan.pid)).toBe(true);
    // A live owner's server is left alone: this process owns one now.
    const mine = await startRedisServer();
    try {
      reapOrphanedServers();
      const gone = Date.now() + 5_000;
      while (isAlive(orphan.pid) && Date.now() < gone) await new Promise((r) => setTimeout(r, 20));
      expect(isAlive(orphan.pid)).toBe(false);
      expect(existsSync(dir)).toBe(false);
      expect(isAlive(mine.pid)).toBe(true);
    } finally {
      await mine.stop();
    }
  });

  it('fails with the server output when redis-server rejects its arguments', async () => {
    await expect(startRedisServer({ args: ['--no-such-option', 'x'] })).rejects.toThrow(
      /exited before answering PING[\s\S]*no-such-option/,
    );
  });
});

describe.skipIf(!tlsRedisAvailable)('private redis-server with TLS', () => {
  const redis = useTlsRedis('yes');

  it('serves TLS only, on the port its rediss:// URL names, to clients with a certificate its CA signed', async () => {
    expect(redis.url).toBe(`rediss://127.0.0.1:${redis.server.port}`);
    const client = track(new Redis(redis.url, { tls: redis.clientTls({ client: true }) }));
    expect(await client.ping()).toBe('PONG');
    expect(await client.config('GET', 'port')).toEqual(['port', '0']);
    await client.quit();
    // Without TLS, the port answers nothing a Redis client can read.
    const plain = track(
      new Redis(`redis://127.0.0.1:${redis.server.port}`, {
        connectTimeout: 1_000,
        commandTimeout: 1_000,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      }),
    );
    plain.on('error', () => {});
    await expect(plain.ping()).rejects.toThrow();
    plain.disconnect();
  });

  it('comes back with TLS after restart()', async () => {
    await redis.server.restart();
    const client = track(new Redis(redis.url, { tls: redis.clientTls({ client: true }) }));
    expect(await client.ping()).toBe('PONG');
    await client.quit();
  });
});

describe.skipIf(!redisAvailability.available)('useRedis', () => {
  const redis = useRedis();

  it('gives a reachable url and a unique namespace per call', async () => {
    const client = track(new Redis(redis.url));
    const ns = uniqueNamespace();
    expect(ns).toMatch(/^test-[0-9a-f-]{36}$/);
    expect(uniqueNamespace()).not.toBe(ns);
    await client.set(`${ns}:k`, '1', 'EX', 60);
    expect(await client.get(`${ns}:k`)).toBe('1');
    await client.quit();
  });
});

describe('leak guard', () => {
  it('force-closes and reports what a test left open', async () => {
    let closed = false;
    track({
      close: async () => {
        closed = true;
      },
    });
    await expect(expectAllClosed('test')).rejects.toThrow(/left open/);
    expect(closed).toBe(true);
  });

  it('accepts resources that were closed', async () => {
    const resource = track({ quit: async () => 'OK' });
    await resource.quit();
    await expectAllClosed('test');
  });
});
