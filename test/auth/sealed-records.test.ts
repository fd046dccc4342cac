/**
 * Durable task records with `auth.encrypt`, on a real redis-server: the
 * payload, the result and a failure's error are in the task's hash only
 * sealed, while `task(id)`, `result(id)` and `ringcast inspect` with the keys
 * read them; `ringcast inspect` without the keys shows them as encrypted.
 */
import { createDispatcher, type Dispatcher } from '@ringcast/dispatcher';
import { type AuthOptions, names } from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ringcastIn } from '../support/admin-cli.js';
import { KeysFile, keyring } from '../support/auth-keys.js';
import { redisAvailability, uniqueNamespace, useRedis } from '../support/redis.js';
import { track } from '../support/track.js';
import { spawnWorker, type WorkerProcess } from '../support/workers.js';
import { eventually } from '../worker/fake-dispatcher.js';

const PAYLOAD_SECRET = 'payload-plaintext-7f3a91';
const FAILURE_SECRET = 'failure-plaintext-c20e55';

describe.skipIf(!redisAvailability.available)('durable records with auth.encrypt', () => {
  const redis = useRedis();
  /** Each test's worker process and dispatcher, stopped after it. */
  const running: Array<WorkerProcess | Dispatcher> = [];

  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => ('kill' in p ? p.kill() : p.close())));
  });

  async function deployment(namespace: string, auth: AuthOptions): Promise<Dispatcher> {
    const env = { RINGCAST_AUTH_KEYS: JSON.stringify(auth) };
    running.push(await spawnWorker({ url: redis.url, namespace, id: 'w1', env }));
    const d = track(
      createDispatcher({ redis: redis.url, namespace, logger: false, timeoutMs: 5_000, auth }),
    );
    running.push(d);
    await d.start();
    await eventually(() => d.workers().length === 1, 10_000, 'the worker');
    return d;
  }

  it('keeps payload, result and error out of Redis in the clear; task(id) and result(id) read them', async () => {
    const namespace = uniqueNamespace();
    const auth = { ...keyring(['k1']), encrypt: true };
    const d = await deployment(namespace, auth);
    const ok = await d.submit('echo', { secret: PAYLOAD_SECRET });
    const failed = await d.submit('fail', { message: FAILURE_SECRET }, { retries: 0 });
    expect(await d.result(ok)).toEqual({ secret: PAYLOAD_SECRET });
    await expect(d.result(failed)).rejects.toThrow(FAILURE_SECRET);

    const raw = track(new Redis(redis.url));
    for (const id of [ok, failed]) {
      const hash = await raw.hgetall(names(namespace).taskKey(id));
      expect(hash['state']).toBe(id === ok ? 'succeeded' : 'failed');
      const dump = JSON.stringify(hash);
      expect(dump).not.toContain(PAYLOAD_SECRET);
      expect(dump).not.toContain(FAILURE_SECRET);
      expect(hash['payload']?.startsWith('~ek1 ')).toBe(true);
      expect(hash[id === ok ? 'result' : 'error']?.startsWith('~ek1 ')).toBe(true);
    }
    await raw.quit();
    expect((await d.task(ok))?.result).toEqual({ secret: PAYLOAD_SECRET });
    expect((await d.task(failed))?.error?.message).toContain(FAILURE_SECRET);

    const blind = await ringcastIn(redis.url, namespace, 'inspect', ok);
    expect(blind.code, blind.stderr).toBe(0);
    expect(blind.stdout).toMatch(/\nresult {4}\(encrypted\) it is encrypted with key k1/);
    expect(blind.stdout).not.toContain(PAYLOAD_SECRET);
    const file = new KeysFile(auth);
    const keyed = await ringcastIn(
      redis.url,
      namespace,
      'inspect',
      ok,
      '--auth-keys-file',
      file.path,
    ).finally(() => file.remove());
    expect(keyed.code, keyed.stderr).toBe(0);
    expect(keyed.stdout).toContain(`result    {"secret":"${PAYLOAD_SECRET}"}\n`);
  });

  it('durable dispatch() through the backlog: records sealed in Redis, each call its own value', async () => {
    const namespace = uniqueNamespace();
    const auth = { ...keyring(['k1']), encrypt: true };
    const d = await deployment(namespace, auth);
    // 200 calls on one worker's 16 slots: most wait in the backlog, and the claims build their
    // records from the dispatcher's copies (plain text in memory), never from Redis's sealed ones.
    const values = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        d.dispatch('echo', { i, secret: PAYLOAD_SECRET }, { durable: true }),
      ),
    );
    expect(values).toEqual(Array.from({ length: 200 }, (_, i) => ({ i, secret: PAYLOAD_SECRET })));
    const raw = track(new Redis(redis.url));
    const n = names(namespace);
    let records = 0;
    for (const key of await raw.keys(`${n.taskKeyPrefix}*`)) {
      records++;
      const hash = await raw.hgetall(key);
      expect(hash['state']).toBe('succeeded');
      expect(JSON.stringify(hash)).not.toContain(PAYLOAD_SECRET);
      expect(hash['payload']?.startsWith('~ek1 ')).toBe(true);
    }
    await raw.quit();
    expect(records).toBe(200);
  });

  it('fails a finished task whose key was retired with a typed error that names the key', async () => {
    const namespace = uniqueNamespace();
    const d = await deployment(namespace, { ...keyring(['k1']), encrypt: true });
    const id = await d.submit('echo', { secret: PAYLOAD_SECRET });
    await d.result(id);
    // Retired too early: k1 is gone while a record sealed with it is still kept.
    d.setAuth({ ...keyring(['k2']), encrypt: true });
    await expect(d.result(id)).rejects.toMatchObject({
      code: 'INVALID_MESSAGE',
      message: expect.stringMatching(/field "result" cannot be opened: .*key k1/),
    });
    expect(await d.task(id)).toMatchObject({ state: 'failed', error: { code: 'INVALID_MESSAGE' } });
  });
});
