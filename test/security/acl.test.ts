/**
 * The users `ringcast acl` prints, on a private Redis with the default user
 * disabled: dispatchers, `ringcast-worker` processes and the `ringcast` CLI do
 * all their work under them (plain and durable tasks, adoption of a dead
 * dispatcher's tasks, parked replies, reweight and drain), and Redis's ACL
 * LOG stays empty: a command, key or channel the code uses and the grants
 * lack fails here. Then what each role must not do, refused NOPERM.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDispatcher, type Dispatcher } from '@ringcast/dispatcher';
import { names } from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useLockedRedis } from '../support/acl.js';
import { ringcastIn } from '../support/admin-cli.js';
import { spawnDashboard } from '../support/dashboard-process.js';
import {
  type DispatcherProcess,
  readPromiseLog,
  spawnDispatcher,
} from '../support/dispatcher-process.js';
import { privateRedisAvailable, uniqueNamespace } from '../support/redis.js';
import { track } from '../support/track.js';
import { spawnWorker, type WorkerProcess } from '../support/workers.js';
import { eventually } from '../worker/fake-dispatcher.js';

/** Real processes, durable tasks and an adoption: bounds for a loaded 2-core machine, not speed. */
const LONG_TEST_MS = 90_000;

describe.skipIf(!privateRedisAvailable)('Redis users from ringcast acl', () => {
  const locked = useLockedRedis();
  const workers: WorkerProcess[] = [];
  const dispatchers: Dispatcher[] = [];
  const processes: DispatcherProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'ringcast-acl-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeEach(() => locked.resetDenials());
  afterEach(async () => {
    await Promise.all(dispatchers.splice(0).map((d) => d.close()));
    await Promise.all(processes.splice(0).map((p) => p.kill('SIGKILL')));
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    // Closing included: whatever the code asked of Redis, Redis allowed.
    expect(await locked.denials()).toEqual([]);
  });

  /** `path`: a database index, `/2`, for the whole deployment; '' for database 0. */
  async function worker(namespace: string, id: string, path = '') {
    const { url } = await locked.createUser([
      '--role',
      'worker',
      '--id',
      id,
      '--namespace',
      namespace,
    ]);
    const w = await spawnWorker({ url: url + path, namespace, id, probe: locked.adminUrl + path });
    workers.push(w);
    return w;
  }

  it(
    'run a deployment end to end, durable tasks, the admin CLI and the dashboard included, and Redis refuses them nothing',
    async () => {
      const namespace = uniqueNamespace();
      // In a database of its own: every connection selects it.
      const db = '/2';
      await worker(namespace, 'w-1', db);
      const w2 = await worker(namespace, 'w-2', db);
      const { url: dispatcherUrl } = await locked.createUser([
        '--role',
        'dispatcher',
        '--id',
        'd-1',
        '--namespace',
        namespace,
      ]);
      const dispatcher = track(
        createDispatcher({ redis: dispatcherUrl + db, namespace, id: 'd-1', logger: false }),
      );
      dispatchers.push(dispatcher);
      await dispatcher.start();
      await eventually(() => dispatcher.workers().filter((w) => w.healthy).length === 2);

      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => dispatcher.dispatch('echo', i)),
      );
      expect(results).toEqual(Array.from({ length: 40 }, (_, i) => i));
      await expect(
        dispatcher.dispatch('sleep', { ms: 5_000 }, { timeoutMs: 100, retries: 0 }),
      ).rejects.toMatchObject({ code: 'TIMEOUT' });

      const ids = await Promise.all(
        Array.from({ length: 10 }, (_, i) => dispatcher.submit('echo', { i })),
      );
      expect(
        await Promise.all(ids.map((id) => dispatcher.result(id, { timeoutMs: 10_000 }))),
      ).toEqual(Array.from({ length: 10 }, (_, i) => ({ i })));
      const delayed = await dispatcher.submit('echo', 'later', { delayMs: 200 });
      expect(await dispatcher.result(delayed, { timeoutMs: 10_000 })).toBe('later');
      const doomed = await dispatcher.submit('echo', 'never', { delayMs: 60_000 });
      expect(await dispatcher.cancel(doomed)).toBe(true);

      const { url: adminUrl } = await locked.createUser([
        '--role',
        'admin',
        '--namespace',
        namespace,
      ]);
      const ringcast = (...args: string[]) => ringcastIn(adminUrl + db, namespace, ...args);
      expect(await ringcast('workers')).toMatchObject({ code: 0, stderr: '' });
      // The read-only admin user reads as well (the dashboard's user: test/admin/dashboard.test.ts).
      const { url: readerUrl } = await locked.createUser([
        '--role',
        'admin',
        '--read-only',
        '--namespace',
        namespace,
      ]);
      for (const command of [['workers'], ['stats'], ['inspect', ids[0]!]]) {
        expect(await ringcastIn(readerUrl + db, namespace, ...command)).toMatchObject({
          code: 0,
          stderr: '',
        });
      }
      expect(await ringcast('stats')).toMatchObject({ code: 0, stderr: '' });
      expect(await ringcast('inspect', ids[0]!)).toMatchObject({ code: 0, stderr: '' });
      expect(await ringcast('reweight', 'w-1', '3')).toMatchObject({ code: 0, stderr: '' });
      expect(await ringcast('reweight', 'w-1', '--reset')).toMatchObject({ code: 0, stderr: '' });
      expect(await ringcast('drain', 'w-2')).toMatchObject({ code: 0, stderr: '' });
      expect((await w2.exited).code).toBe(0);

      // The dashboard, under the same user: it reads and hears hello and leave on the control channel.
      const dashboard = await spawnDashboard({ redis: adminUrl + db, namespace });
      try {
        await eventually(async () =>
          (await dashboard.snapshot()).workers.some((w) => w.id === 'w-1'),
        );
      } finally {
        await dashboard.kill('SIGTERM');
      }
    },
    LONG_TEST_MS,
  );

  it(
    "adopt a dead dispatcher's durable tasks and the replies workers parked for it",
    async () => {
      const namespace = uniqueNamespace();
      await worker(namespace, 'w-a');
      await worker(namespace, 'w-b');
      // Without --id: the dispatcher processes here pick their own ids.
      const { url } = await locked.createUser(['--role', 'dispatcher', '--namespace', namespace]);
      // Its heartbeat lives 3 beats (6 s): its tasks' replies (2 s) come well before it lapses.
      const options = { ownerHeartbeatMs: 2_000 };
      const log = join(dir, `${namespace}.log`);
      const a = await spawnDispatcher({
        url,
        namespace,
        log,
        tasks: 20,
        handler: 'sleep',
        payload: { ms: 2_000, value: 'done' },
        workers: 2,
        options,
        submitOptions: { resultTtlMs: 600_000 },
      });
      processes.push(a);
      await eventually(() => a.promisedCount() === 20);
      // Its tasks run for 2 s: they finish after it died, and their replies are parked for it;
      // its heartbeat lapses seconds later, and the live dispatcher adopts them.
      await a.kill('SIGKILL');
      const b = track(createDispatcher({ redis: url, namespace, logger: false, ...options }));
      dispatchers.push(b);
      await b.start();
      const promised = readPromiseLog(log).flatMap((line) => (line.kind === 'p' ? [line.id] : []));
      const outcomes = await Promise.all(promised.map((id) => b.result(id, { timeoutMs: 20_000 })));
      expect(outcomes).toEqual(promised.map(() => 'done'));
      expect(b.stats().durable).toMatchObject({
        adopted: expect.any(Number),
        parkedSettled: expect.any(Number),
      });
      expect(b.stats().durable.adopted).toBeGreaterThan(0);
      expect(b.stats().durable.parkedSettled).toBeGreaterThan(0);
    },
    LONG_TEST_MS,
  );

  describe('what each role cannot do: Redis answers NOPERM', () => {
    const other = uniqueNamespace();
    /** [what, the command and its arguments, or a channel to SUBSCRIBE to] */
    type Attempt = [string, string[] | { subscribe: string }];
    const forbidden = (n: ReturnType<typeof names>): Record<string, Attempt[]> => ({
      worker: [
        ["subscribe to another worker's channel", { subscribe: n.workerChannel('w-2') }],
        ["publish on another worker's channel", ['PUBLISH', n.workerChannel('w-2'), 'task']],
        ['read a task record', ['HGETALL', n.taskKey('t-1')]],
        ['read the registry it writes to', ['HGETALL', n.registryKey]],
        ['read replies parked for a dispatcher', ['LRANGE', n.parkedKey('d-1'), '0', '-1']],
        ["write another worker's heartbeat", ['SET', n.heartbeatKey('w-2'), 'x']],
        ['read a key of another namespace', ['GET', names(other).registryKey]],
        ['write the weight policy', ['HSET', n.weightsKey, 'w-1', '100']],
        ['FLUSHALL', ['FLUSHALL']],
        ['CONFIG', ['CONFIG', 'GET', 'requirepass']],
        ['KEYS', ['KEYS', '*']],
      ],
      dispatcher: [
        ["subscribe to another dispatcher's reply channel", { subscribe: n.replyChannel('d-2') }],
        ['write the weight policy', ['HSET', n.weightsKey, 'w-1', '100']],
        ['read a key of another namespace', ['GET', names(other).registryKey]],
        ['FLUSHALL', ['FLUSHALL']],
        ['FLUSHDB', ['FLUSHDB']],
        ['CONFIG SET', ['CONFIG', 'SET', 'maxmemory', '1']],
        ['KEYS', ['KEYS', '*']],
        ['SCRIPT FLUSH', ['SCRIPT', 'FLUSH']],
        ['ACL SETUSER', ['ACL', 'SETUSER', 'intruder', 'on', '+@all']],
        ['CLIENT KILL', ['CLIENT', 'KILL', 'TYPE', 'normal']],
        ['CLIENT LIST', ['CLIENT', 'LIST']],
      ],
      admin: [
        ['write the registry', ['HSET', n.registryKey, 'w-1', '{}']],
        ['write a task record', ['HSET', n.taskKey('t-1'), 'state', 'succeeded']],
        ['forge a reply to a dispatcher', ['PUBLISH', n.replyChannel('d-1'), 'reply']],
        ['FLUSHALL', ['FLUSHALL']],
        ['CONFIG', ['CONFIG', 'GET', '*']],
        ['KEYS', ['KEYS', '*']],
      ],
      'admin --read-only': [
        ['write the weight policy', ['HSET', n.weightsKey, 'w-1', '100']],
        ['send a drain request', ['PUBLISH', n.workerChannel('w-1'), 'drain']],
        ['write the registry', ['HSET', n.registryKey, 'w-1', '{}']],
        ['FLUSHALL', ['FLUSHALL']],
      ],
    });
    const users: Record<string, string[]> = {
      worker: ['--role', 'worker', '--id', 'w-1'],
      dispatcher: ['--role', 'dispatcher', '--id', 'd-1'],
      admin: ['--role', 'admin'],
      'admin --read-only': ['--role', 'admin', '--read-only'],
    };

    /** What Redis answers: 'allowed', or its error. */
    async function attempt(client: Redis, what: Attempt[1]): Promise<string> {
      const answer = (sent: Promise<unknown>) =>
        sent.then(
          () => 'allowed',
          (error: Error) => error.message,
        );
      if (!('subscribe' in what)) return answer(client.call(what[0]!, ...what.slice(1)));
      const subscriber = track(client.duplicate());
      try {
        return await answer(subscriber.subscribe(what.subscribe));
      } finally {
        subscriber.disconnect();
      }
    }

    it.each(Object.keys(users))('%s', async (role) => {
      const namespace = uniqueNamespace();
      const { url, user } = await locked.createUser([...users[role]!, '--namespace', namespace]);
      const client = track(new Redis(url, { maxRetriesPerRequest: 0 }));
      const attempts = forbidden(names(namespace))[role]!;
      try {
        for (const [what, command] of attempts) {
          expect.soft(await attempt(client, command), `${role}: ${what}`).toMatch(/^NOPERM/);
        }
        // Redis logged each refusal (and nothing else), so the afterEach check can start afresh.
        const denials = await locked.denials();
        expect(new Set(denials.map((d) => d.username))).toEqual(new Set([user]));
        expect(denials.reduce((sum, d) => sum + d.count, 0)).toBe(attempts.length);
      } finally {
        await locked.resetDenials();
        client.disconnect();
      }
    });
  });
});
