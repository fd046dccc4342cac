/**
 * Frame authentication through the command-line tools, on real processes: a
 * `ringcast-worker` given keys by `--auth-keys-file` or `RINGCAST_AUTH_KEYS`,
 * one given none (or bad ones), SIGHUP with a broken file, and `ringcast
 * drain`, signed or not. No secret ever reaches an output.
 */
import { createDispatcher, type Dispatcher } from '@ringcast/dispatcher';
import { type AuthOptions, names } from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ringcastIn } from '../support/admin-cli.js';
import { KeysFile, keyring, leaksSecret, SECRETS } from '../support/auth-keys.js';
import { spawnNode } from '../support/node-process.js';
import { redisAvailability, uniqueNamespace, useRedis } from '../support/redis.js';
import { track } from '../support/track.js';
import {
  FIXTURE_HANDLERS,
  spawnWorker,
  WORKER_CLI,
  type WorkerProcess,
} from '../support/workers.js';
import { eventually } from '../worker/fake-dispatcher.js';

describe.skipIf(!redisAvailability.available)('frame authentication in the CLIs', () => {
  const redis = useRedis();
  const workers: WorkerProcess[] = [];
  const dispatchers: Dispatcher[] = [];
  const files: KeysFile[] = [];

  afterEach(async () => {
    await Promise.all(dispatchers.splice(0).map((d) => d.close()));
    await Promise.all(workers.splice(0).map((w) => w.kill()));
    for (const file of files.splice(0)) file.remove();
  });

  function keysFile(auth: AuthOptions): KeysFile {
    const file = new KeysFile(auth);
    files.push(file);
    return file;
  }

  async function worker(
    namespace: string,
    id: string,
    options: { args?: string[]; env?: Record<string, string> } = {},
  ): Promise<WorkerProcess> {
    const w = await spawnWorker({ url: redis.url, namespace, id, ...options });
    workers.push(w);
    return w;
  }

  async function dispatcher(namespace: string, auth?: AuthOptions): Promise<Dispatcher> {
    const d = track(
      createDispatcher({
        redis: redis.url,
        namespace,
        logger: false,
        timeoutMs: 3_000,
        ackTimeoutMs: 500,
        ...(auth ? { auth } : {}),
      }),
    );
    dispatchers.push(d);
    await d.start();
    return d;
  }

  it('runs signed tasks on workers keyed by file or by RINGCAST_AUTH_KEYS; the wire carries only sealed frames', async () => {
    const namespace = uniqueNamespace();
    const auth = keyring(['k1']);
    await worker(namespace, 'by-file', { args: ['--auth-keys-file', keysFile(auth).path] });
    await worker(namespace, 'by-env', { env: { RINGCAST_AUTH_KEYS: JSON.stringify(auth) } });
    const d = await dispatcher(namespace, auth);
    await eventually(() => d.workers().length === 2, 10_000, 'both workers');
    const tap = track(new Redis(redis.url));
    const frames: string[] = [];
    tap.on('message', (_channel: string, frame: string) => frames.push(frame));
    await tap.subscribe(
      names(namespace).workerChannel('by-file'),
      names(namespace).workerChannel('by-env'),
    );
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => d.dispatch('echo', { i })),
    );
    expect(results).toEqual(Array.from({ length: 40 }, (_, i) => ({ i })));
    expect(frames.length).toBeGreaterThan(1);
    for (const frame of frames) expect(frame.startsWith('~s k1 ')).toBe(true);
    expect(d.stats().auth.verified).toBeGreaterThan(0);
    await tap.quit();
  });

  it('a worker without the keys drops signed tasks and says auth is probably misconfigured; nothing runs', async () => {
    const namespace = uniqueNamespace();
    const plain = await worker(namespace, 'plain');
    const d = await dispatcher(namespace, keyring(['k1']));
    await eventually(() => d.workers().length === 1, 10_000, 'the worker');
    await expect(d.dispatch('echo', 1, { timeoutMs: 1_500 })).rejects.toMatchObject({
      code: expect.stringMatching(/^(TIMEOUT|WORKER_LOST)$/),
    });
    await eventually(
      () => plain.output().includes('auth is probably misconfigured'),
      5_000,
      'the worker to say so',
    );
    expect(d.stats().settled.ok).toBe(0);
  });

  it('refuses bad keys at start (exit 2), naming the file, never the secret', async () => {
    const file = keysFile(keyring(['k1']));
    file.write(JSON.stringify({ keys: { k1: SECRETS.k1 }, current: SECRETS.k2 }));
    const run = spawnNode([
      WORKER_CLI,
      '--handlers',
      FIXTURE_HANDLERS,
      '--redis',
      redis.url,
      '--auth-keys-file',
      file.path,
    ]);
    expect((await run.exited).code).toBe(2);
    expect(run.output()).toContain(`--auth-keys-file ${file.path}: auth.current must be a key id`);
    expect(leaksSecret(run.output())).toBe(false);
    const broken = spawnNode([WORKER_CLI, '--handlers', FIXTURE_HANDLERS], {
      env: { ...process.env, RINGCAST_AUTH_KEYS: `{"keys":{"k1":"${SECRETS.k1}"` },
    });
    expect((await broken.exited).code).toBe(2);
    expect(broken.output()).toContain('RINGCAST_AUTH_KEYS is not valid JSON');
    expect(leaksSecret(broken.output())).toBe(false);
  });

  it('keeps its keys when SIGHUP finds the file broken, and takes them once it is fixed', async () => {
    const namespace = uniqueNamespace();
    const file = keysFile(keyring(['k1']));
    const w = await worker(namespace, 'w1', { args: ['--auth-keys-file', file.path] });
    const d = await dispatcher(namespace, keyring(['k1']));
    await eventually(() => d.workers().length === 1, 10_000, 'the worker');
    file.write('{ "keys": ');
    w.child.kill('SIGHUP');
    await eventually(
      () => w.output().includes('SIGHUP: kept the frame keys it had'),
      5_000,
      'the worker to keep its keys',
    );
    expect(await d.dispatch('echo', 'still')).toBe('still');
    file.write(keyring(['k1', 'k2'], 'k1'));
    w.child.kill('SIGHUP');
    await eventually(
      () => w.output().includes('frame keys replaced: signing with k1 (keys k1, k2)'),
      5_000,
      'the worker to take the new keys',
    );
    expect(await d.dispatch('echo', 'after')).toBe('after');
    expect(leaksSecret(w.output())).toBe(false);
  });

  it('ringcast drain reaches a keyed worker only when it signs: an unsigned request is dropped', async () => {
    const namespace = uniqueNamespace();
    const file = keysFile(keyring(['k1']));
    const w = await worker(namespace, 'w1', { args: ['--auth-keys-file', file.path] });
    const unsigned = await ringcastIn(redis.url, namespace, 'drain', 'w1', '--timeout', '1500');
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toContain('was still registered after 1500 ms');
    await eventually(
      () => w.output().includes('it is not signed, and frame authentication is on here'),
      5_000,
      'the worker to drop the unsigned drain',
    );
    const signed = await ringcastIn(
      redis.url,
      namespace,
      'drain',
      'w1',
      '--auth-keys-file',
      file.path,
    );
    expect(signed.code).toBe(0);
    expect(signed.stdout).toContain('worker w1 drained');
    expect((await w.exited).code).toBe(0);
    expect(leaksSecret(signed.stdout + signed.stderr + w.output())).toBe(false);
  });
});
