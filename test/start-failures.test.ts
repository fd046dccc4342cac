import { inspect } from 'node:util';
import { createDispatcher } from '@ringcast/dispatcher';
import { ErrorCode, type RingcastError } from '@ringcast/protocol';
import { createWorker } from '@ringcast/worker';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { privateRedisAvailable, uniqueNamespace, usePrivateRedis } from './support/redis.js';
import { freePort } from './support/redis-server.js';
import { tlsRedisAvailable, useTlsRedis } from './support/tls.js';
import { track } from './support/track.js';

/** Both sides start the same way: each case runs for a dispatcher and an in-process worker. */
const SIDES = [
  [
    'dispatcher',
    (redis: string | Redis) =>
      track(createDispatcher({ redis, namespace: uniqueNamespace(), logger: false })),
  ],
  [
    'worker',
    (redis: string | Redis) =>
      track(
        createWorker({
          redis,
          namespace: uniqueNamespace(),
          handlers: { echo: (p: unknown) => p },
          logger: false,
        }),
      ),
  ],
] as const;

async function rejection(promise: Promise<unknown>): Promise<RingcastError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as RingcastError;
}

/**
 * Collects what escapes to the process for a while after `run`: the one place a
 * fixed wait is right, since the defect is that something happens later.
 */
async function escapes(run: () => Promise<void>, quietMs = 500): Promise<unknown[]> {
  const escaped: unknown[] = [];
  const record = (error: unknown) => escaped.push(error);
  process.on('uncaughtException', record);
  process.on('unhandledRejection', record);
  try {
    await run();
    await new Promise((resolve) => setTimeout(resolve, quietMs));
  } finally {
    process.off('uncaughtException', record);
    process.off('unhandledRejection', record);
  }
  return escaped;
}

describe.skipIf(!privateRedisAvailable)('start() failures say why', () => {
  const redis = usePrivateRedis();

  describe.each(SIDES)('%s', (_side, create) => {
    it('names a refused connection', async () => {
      const port = await freePort();
      const target = create(`redis://127.0.0.1:${port}`);
      const error = await rejection(target.start());
      expect(error.code).toBe(ErrorCode.REDIS_ERROR);
      expect(error.message).toContain('ECONNREFUSED');
      expect(error.message).not.toContain('Connection is closed');
      await target.close();
    });

    it('names a wrong password, without quoting it', async () => {
      const url = `redis://nobody:s3cr3t@127.0.0.1:${redis.server.port}`;
      const target = create(url);
      const error = await rejection(target.start());
      expect(error.code).toBe(ErrorCode.REDIS_ERROR);
      expect(error.message).toMatch(/WRONGPASS/);
      expect(error.message).not.toContain('s3cr3t');
      // Nor in its cause, which loggers print whole (ioredis keeps the AUTH arguments there).
      expect(inspect(error, { depth: 10 })).not.toContain('s3cr3t');
      await target.close();
    });

    it('names a database index the server does not have, rather than running in database 0', async () => {
      const target = create(`redis://127.0.0.1:${redis.server.port}/99`);
      const error = await rejection(target.start());
      expect(error.code).toBe(ErrorCode.REDIS_ERROR);
      expect(error.message).toMatch(/DB index is out of range/);
      await target.close();
    });

    it('runs in the database index the URL names', async () => {
      const target = create(`redis://127.0.0.1:${redis.server.port}/3`);
      await target.start();
      const probe = track(new Redis(`redis://127.0.0.1:${redis.server.port}`));
      const clients = String(await probe.call('CLIENT', 'LIST'))
        .split('\n')
        .filter((line) => / name=ringcast/.test(line));
      expect(clients.length).toBeGreaterThanOrEqual(2);
      for (const line of clients) expect(line).toMatch(/ db=3 /);
      await target.close();
      probe.disconnect();
    });

    it("rejects with the cause when the application's own client cannot connect", async () => {
      const port = await freePort();
      // Retries forever, as ioredis clients do by default: start() must not wait for it.
      const client = track(new Redis(`redis://127.0.0.1:${port}`));
      client.on('error', () => {});
      const target = create(client);
      const error = await rejection(target.start());
      expect(error.code).toBe(ErrorCode.REDIS_ERROR);
      expect(error.message).toContain('ECONNREFUSED');
      await target.close();
      client.disconnect();
    });

    it('rejects CLOSED when close() comes during start()', async () => {
      const target = create(redis.url);
      const starting = rejection(target.start());
      await target.close();
      const error = await starting;
      expect(error.code).toBe(ErrorCode.CLOSED);
    });
  });
});

describe.skipIf(!tlsRedisAvailable)('start() against TLS with an untrusted certificate', () => {
  // The server's certificate is signed by a CA made for this run, which the client does not trust.
  const redis = useTlsRedis();
  let url: string;
  beforeAll(() => {
    url = redis.url.replace('rediss://', 'rediss://:s3cr3t@');
  });

  describe.each(SIDES)('%s', (_side, create) => {
    it('rejects REDIS_ERROR naming the certificate, and nothing escapes afterwards', async () => {
      let error: RingcastError | undefined;
      const escaped = await escapes(async () => {
        const target = create(url);
        error = await rejection(target.start());
        await target.close();
      });
      expect(error?.code).toBe(ErrorCode.REDIS_ERROR);
      expect(error?.message).toMatch(/certificate/);
      expect(error?.message).not.toContain('s3cr3t');
      expect(escaped).toEqual([]);
    });

    it('rejects CLOSED when closed during the handshake, and nothing escapes afterwards', async () => {
      const codes: string[] = [];
      const escaped = await escapes(async () => {
        // Tearing a TLS socket down mid-handshake draws an alert from the server as
        // a second socket error. At setImmediate the socket is connecting and no
        // reply can have come back yet; the later closes may come before or after
        // the handshake failed on its own, which makes start() CLOSED or REDIS_ERROR.
        const waits = [
          () => new Promise((resolve) => setImmediate(resolve)),
          () => new Promise((resolve) => setTimeout(resolve, 2)),
          () => new Promise((resolve) => setTimeout(resolve, 5)),
        ];
        for (const wait of waits) {
          const target = create(url);
          const starting = rejection(target.start());
          await wait();
          await target.close();
          codes.push((await starting).code);
        }
      });
      expect(codes[0]).toBe(ErrorCode.CLOSED);
      for (const code of codes) expect([ErrorCode.CLOSED, ErrorCode.REDIS_ERROR]).toContain(code);
      expect(escaped).toEqual([]);
    });
  });
});
