// The durable calls a caller waits on — submit(), task(), cancel(), a durable
// dispatch() — always settle: REDIS_ERROR when Redis refuses or does not answer
// in time, CLOSED when the dispatcher closes under them. Each test has a
// redis-server of its own, to kill or to lock down.
import {
  createDispatcher,
  DispatchError,
  type Dispatcher,
  type DispatcherOptions,
  ErrorCode,
} from '@ringcast/dispatcher';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { privateRedisAvailable, uniqueNamespace } from '../support/redis.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';
import { track } from '../support/track.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How `promise` ended within `ms`: its value, its error, or 'pending'. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<unknown> {
  const outcome = promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  return Promise.race([outcome, sleep(ms).then(() => 'pending')]);
}

function codeOf(outcome: unknown): string | undefined {
  const error = (outcome as { error?: unknown }).error;
  return error instanceof DispatchError ? error.code : undefined;
}

/**
 * Runs `body` with a dispatcher on a redis-server of its own and one task
 * stored (no worker: it waits in the backlog); the server is stopped after.
 */
async function withOwnRedis(
  options: Partial<DispatcherOptions>,
  body: (server: RedisServer, d: Dispatcher, id: string) => Promise<void>,
): Promise<void> {
  const server = await startRedisServer();
  try {
    const d = track(
      createDispatcher({
        redis: server.url,
        namespace: uniqueNamespace(),
        logger: false,
        ...options,
      }),
    );
    await d.start();
    await body(server, d, await d.submit('echo', 1));
  } finally {
    await server.stop();
  }
}

describe.skipIf(!privateRedisAvailable)('durable calls while Redis is out', () => {
  it('close() ends submit(), task(), cancel() and a durable dispatch() that wait on a killed Redis: CLOSED', async () => {
    await withOwnRedis({}, async (server, d, id) => {
      await server.kill('SIGKILL');
      // Long enough for the client to be between reconnect attempts.
      await sleep(300);
      const calls = [
        d.submit('echo', 2),
        d.task(id),
        d.cancel(id),
        d.dispatch('echo', 3, { durable: true }),
      ].map((call) => settledWithin(call, 10_000));
      await d.close();
      const outcomes = await Promise.all(calls);
      expect(outcomes.map(codeOf)).toEqual(Array(4).fill(ErrorCode.CLOSED));
    });
  });

  it('task() and cancel() reject REDIS_ERROR when Redis does not answer within timeoutMs', async () => {
    await withOwnRedis({ timeoutMs: 1_000 }, async (server, d, id) => {
      server.pause();
      const outcomes = await Promise.all(
        [d.task(id), d.cancel(id), d.submit('echo', 2)].map((call) => settledWithin(call, 5_000)),
      );
      for (const outcome of outcomes) {
        expect(codeOf(outcome)).toBe(ErrorCode.REDIS_ERROR);
        expect(String((outcome as { error: Error }).error.message)).toMatch(
          /Redis did not answer within 1000 ms/,
        );
      }
      // The submit's write was sent: its fate was unknown, and its error says how to learn it.
      const unanswered = String((outcomes[2] as { error: Error }).error.message);
      const stored = /^task (\S+) may or may not be stored \(task\('\1'\) tells/.exec(unanswered);
      expect(stored, unanswered).not.toBeNull();
      server.resume();
      // Redis took it once it ran again: the task is there, waiting for a worker.
      expect((await d.task(stored![1]!))?.state).toBe('waiting');
      await d.close();
    });
  });

  it('task() and cancel() reject REDIS_ERROR, with the cause, when Redis refuses them', async () => {
    await withOwnRedis({}, async (server, d, id) => {
      const admin = track(new Redis(server.url));
      // The scripts the store runs are refused from now on.
      await admin.call('ACL', 'SETUSER', 'default', '-eval', '-evalsha');
      const outcomes = await Promise.all(
        [d.task(id), d.cancel(id)].map((call) => settledWithin(call, 5_000)),
      );
      for (const outcome of outcomes) {
        expect(codeOf(outcome)).toBe(ErrorCode.REDIS_ERROR);
        expect(String((outcome as { error: Error }).error.message)).toMatch(/NOPERM/);
      }
      await admin.call('ACL', 'SETUSER', 'default', '+@all');
      await admin.quit();
      await d.close();
    });
  });
});
