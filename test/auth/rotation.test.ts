/**
 * Key rotation without downtime, exactly as an operator does it, under load:
 * real `ringcast-worker` processes reading `--auth-keys-file` (re-read on
 * SIGHUP) and a dispatcher whose keyring `setAuth` replaces, on a private
 * redis-server. Add the new key everywhere, make it the signing key
 * everywhere, retire the old one: no task is lost or fails, no frame is dropped.
 */
import { createDispatcher, type Dispatcher } from '@ringcast/dispatcher';
import { type AuthOptions, encode, FrameSealer, names, parseAuthOptions } from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { KeysFile, keyring, leaksSecret } from '../support/auth-keys.js';
import { privateRedisAvailable, uniqueNamespace, usePrivateRedis } from '../support/redis.js';
import { track } from '../support/track.js';
import { spawnWorker, type WorkerProcess } from '../support/workers.js';
import { eventually } from '../worker/fake-dispatcher.js';

/** Dispatches kept in flight while the keys change. */
const IN_FLIGHT = 32;
/** Tasks that must settle under each keyring before the next step. */
const PER_STEP = 300;

describe.skipIf(!privateRedisAvailable)('frame key rotation', () => {
  const redis = usePrivateRedis();
  const workers: WorkerProcess[] = [];
  const files: KeysFile[] = [];

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill()));
    for (const file of files.splice(0)) file.remove();
  });

  it('adds a key everywhere, signs with it, retires the old one, under load: nothing lost, nothing dropped', async () => {
    const namespace = uniqueNamespace();
    const n = names(namespace);
    const file = new KeysFile(keyring(['k1']));
    files.push(file);
    for (const id of ['w1', 'w2']) {
      workers.push(
        await spawnWorker({
          url: redis.url,
          namespace,
          id,
          args: ['--auth-keys-file', file.path],
        }),
      );
    }
    const d: Dispatcher = track(
      createDispatcher({ redis: redis.url, namespace, logger: false, auth: keyring(['k1']) }),
    );
    await d.start();
    await eventually(() => d.workers().length === 2, 10_000, 'both workers');

    // What the wire carries: the key id of every frame to w1 and back to the dispatcher.
    const tap = track(new Redis(redis.url));
    const keyIds = new Set<string>();
    tap.on('message', (_channel: string, frame: string) => keyIds.add(frame.split(' ')[1]!));
    await tap.subscribe(n.workerChannel('w1'), n.replyChannel(d.id));

    const load = closedLoop(d);
    await load.settled(PER_STEP);
    const step = async (auth: AuthOptions, logged: string) => {
      const before = load.ok;
      file.write(auth);
      for (const w of workers) w.child.kill('SIGHUP');
      d.setAuth(auth);
      await eventually(
        () => workers.every((w) => w.output().includes(logged)),
        10_000,
        `every worker to log "${logged}"`,
      );
      await load.settled(before + PER_STEP);
    };
    // 1. The new key everywhere: every process accepts both, all still sign with k1.
    await step(keyring(['k1', 'k2'], 'k1'), 'frame keys replaced: signing with k1 (keys k1, k2)');
    // 2. Sign with it everywhere.
    await step(keyring(['k1', 'k2'], 'k2'), 'frame keys replaced: signing with k2 (keys k1, k2)');
    keyIds.clear();
    // 3. Retire the old key.
    await step(keyring(['k2']), 'frame keys replaced: signing with k2 (keys k2)');
    await load.stop();

    expect(load.failures).toEqual([]);
    expect(load.ok).toBeGreaterThanOrEqual(4 * PER_STEP);
    expect(d.stats().settled).toEqual({ ok: load.ok, error: {} });
    expect(d.stats().auth).toMatchObject({ currentKey: 'k2' });
    expect(Object.values(d.stats().auth.dropped).every((count) => count === 0)).toBe(true);
    expect([...keyIds]).toEqual(['k2']);
    for (const w of workers) {
      expect(w.output()).not.toContain('dropped a frame');
      expect(leaksSecret(w.output())).toBe(false);
    }

    // The old key is refused now: a task signed with it runs nowhere.
    const oldKey = new FrameSealer(parseAuthOptions(keyring(['k1'])));
    const task = {
      kind: 'task' as const,
      id: 'old-key',
      attempt: 1,
      token: 'old-key.1',
      handler: 'echo',
      payload: 1,
      deadline: Date.now() + 10_000,
      replyTo: d.id,
    };
    const channel = n.workerChannel('w1');
    const publisher = track(new Redis(redis.url));
    await publisher.publish(channel, oldKey.seal(channel, encode([task]), Date.now()));
    await eventually(
      () => workers[0]!.output().includes('signed with a key id that is not in this keyring (k2)'),
      10_000,
      'w1 to drop the old-key frame',
    );
    expect(d.stats().staleReplies).toBe(0);
    await d.close();
    await tap.quit();
    await publisher.quit();
  });
});

/** Keeps {@link IN_FLIGHT} echo dispatches in flight until stopped; counts what settles how. */
function closedLoop(d: Dispatcher) {
  let running = true;
  const state = { ok: 0, failures: [] as string[] };
  const lanes = Array.from({ length: IN_FLIGHT }, async (_, lane) => {
    for (let i = 0; running; i++) {
      try {
        const value = await d.dispatch('echo', { lane, i });
        if ((value as { i: number }).i === i) state.ok++;
        else state.failures.push(`lane ${lane} task ${i}: wrong value ${JSON.stringify(value)}`);
      } catch (error) {
        state.failures.push(`lane ${lane} task ${i}: ${String(error)}`);
      }
    }
  });
  return {
    get ok() {
      return state.ok;
    },
    failures: state.failures,
    settled: (count: number) =>
      eventually(() => state.ok >= count || state.failures.length > 0, 20_000, `${count} settled`),
    async stop() {
      running = false;
      await Promise.all(lanes);
    },
  };
}
