// One live process per dispatcher id: a second one is refused, a dead
// predecessor's id is free at once, a silent one's once its heartbeat lapsed.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDispatcher, type DispatchError, ErrorCode } from '@ringcast/dispatcher';
import { describe, expect, it } from 'vitest';
import { spawnDispatcher } from '../support/dispatcher-process.js';
import { privateRedisAvailable, uniqueNamespace, usePrivateRedis } from '../support/redis.js';
import { rejection } from '../support/rejection.js';
import { track } from '../support/track.js';

// Short owner heartbeats: the TTL, 3 beats, is what a start may wait for.
const OWNER_HEARTBEAT_MS = 100;

describe.skipIf(!privateRedisAvailable)('one live process per dispatcher id', () => {
  const redis = usePrivateRedis();

  function dispatcher(namespace: string, id: string) {
    return track(
      createDispatcher({
        redis: redis.url,
        namespace,
        id,
        logger: false,
        ownerHeartbeatMs: OWNER_HEARTBEAT_MS,
      }),
    );
  }

  it('refuses a second live dispatcher under one id DUPLICATE_DISPATCHER; the first goes on', async () => {
    const namespace = uniqueNamespace();
    const first = dispatcher(namespace, 'api-1');
    await first.start();
    const second = dispatcher(namespace, 'api-1');
    const error = (await rejection(second.start())) as DispatchError;
    expect(error.code).toBe(ErrorCode.DUPLICATE_DISPATCHER);
    expect(error.message).toMatch(/dispatcher id api-1 is in use/);
    // The refused one holds nothing open, and a start after it is refused CLOSED.
    expect((await rejection(second.start())).code).toBe(ErrorCode.CLOSED);
    const other = dispatcher(namespace, 'api-2');
    await other.start();
    await Promise.all([first.close(), second.close(), other.close()]);
  });

  it('takes over the id of a predecessor killed with SIGKILL at once, and of a paused one once its heartbeat lapsed', async () => {
    const namespace = uniqueNamespace();
    const log = join(mkdtempSync(join(tmpdir(), 'ringcast-identity-')), 'promises.log');
    for (const signal of ['SIGKILL', 'SIGSTOP'] as const) {
      const id = `api-${signal.toLowerCase()}`;
      const predecessor = await spawnDispatcher({
        url: redis.url,
        namespace,
        log,
        options: { id, ownerHeartbeatMs: OWNER_HEARTBEAT_MS },
      });
      if (signal === 'SIGKILL') await predecessor.kill('SIGKILL');
      else predecessor.pause();
      // A paused one is still subscribed (its connection is open), but silent: the id is
      // free once its heartbeat lapsed.
      const successor = dispatcher(namespace, id);
      await successor.start();
      expect(successor.workers()).toEqual([]);
      if (signal === 'SIGSTOP') await predecessor.kill('SIGKILL');
      await successor.close();
    }
  });
});
