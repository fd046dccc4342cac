/**
 * ringcast over TLS, against a private redis-server that serves TLS only, with
 * certificates made for the run: a dispatcher given `tls` in its ioredis
 * options, `ringcast-worker` and `ringcast` with the `--tls-*` flags, mutual
 * TLS, and what an untrusted server certificate or a missing client
 * certificate does. With no plain port, every connection that works went
 * through TLS, the worker's heartbeat thread included.
 */
import { createDispatcher, type Dispatcher } from '@ringcast/dispatcher';
import { ErrorCode, type RingcastError } from '@ringcast/protocol';
import { createWorker } from '@ringcast/worker';
import { Redis, type RedisOptions } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ringcastIn } from '../support/admin-cli.js';
import { spawnDashboard } from '../support/dashboard-process.js';
import { uniqueNamespace } from '../support/redis.js';
import {
  type ClientTls,
  type TlsRedisHandle,
  tlsRedisAvailable,
  useTlsRedis,
} from '../support/tls.js';
import { track } from '../support/track.js';
import { spawnWorker, type WorkerProcess } from '../support/workers.js';
import { eventually } from '../worker/fake-dispatcher.js';

/** ioredis options for the TLS server: the documented way to give a dispatcher or worker certificates. */
function tlsOptions(redis: TlsRedisHandle, tls: ClientTls): RedisOptions {
  return { host: redis.server.host, port: redis.server.port, tls };
}

/** The names of the server's client connections, read over a trusted connection. */
async function clientNames(admin: Redis): Promise<string[]> {
  const list = String(await admin.call('CLIENT', 'LIST'));
  return list
    .split('\n')
    .map((line) => / name=(\S*)/.exec(line)?.[1] ?? '')
    .filter((name) => name !== '');
}

function useProcesses() {
  const workers: WorkerProcess[] = [];
  const dispatchers: Dispatcher[] = [];
  afterEach(async () => {
    await Promise.all(dispatchers.splice(0).map((d) => d.close()));
    await Promise.all(workers.splice(0).map((w) => w.kill()));
  });
  return {
    async dispatcher(redis: RedisOptions, namespace: string, workerCount: number) {
      const d = track(createDispatcher({ redis, namespace, logger: false }));
      dispatchers.push(d);
      await d.start();
      await eventually(() => d.workers().filter((w) => w.healthy).length === workerCount);
      return d;
    },
    async worker(...args: Parameters<typeof spawnWorker>) {
      const worker = await spawnWorker(...args);
      workers.push(worker);
      return worker;
    },
  };
}

describe.skipIf(!tlsRedisAvailable)('TLS with a server certificate from a private CA', () => {
  const redis = useTlsRedis('no');
  const run = useProcesses();

  it('dispatches end to end, durable tasks too: a dispatcher with tls options, a CLI worker, the admin CLI and the dashboard with --tls-ca', async () => {
    const namespace = uniqueNamespace();
    const trusted = tlsOptions(redis, redis.clientTls());
    const worker = await run.worker({
      url: redis.url,
      namespace,
      id: 'w-tls',
      args: redis.cliArgs(),
      probe: trusted,
    });
    const dispatcher = await run.dispatcher(trusted, namespace, 1);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => dispatcher.dispatch('echo', { i })),
    );
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => ({ i })));
    const id = await dispatcher.submit('echo', { durable: true });
    expect(await dispatcher.result(id)).toEqual({ durable: true });

    // Every connection ringcast opened is up, on the TLS port alone: the worker's heartbeat
    // thread got the certificates too (it beats from a thread, not from the main loop).
    const admin = track(new Redis(trusted));
    const connected = await clientNames(admin);
    expect(connected.filter((name) => name === `ringcast-worker:${worker.id}`)).toHaveLength(2);
    expect(connected).toContain(`ringcast-worker-presence:${worker.id}`);
    expect(
      connected.filter((name) => name === `ringcast:dispatcher:${dispatcher.id}`),
    ).toHaveLength(2);
    expect(worker.output()).not.toMatch(/heartbeat thread/);
    await admin.quit();

    const listed = await ringcastIn(redis.url, namespace, 'workers', '--json', ...redis.cliArgs());
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    expect((JSON.parse(listed.stdout) as Array<{ id: string }>).map((w) => w.id)).toEqual([
      'w-tls',
    ]);
    const dashboard = await spawnDashboard({ redis: redis.url, namespace, args: redis.cliArgs() });
    try {
      const snapshot = await eventually(async () => {
        const s = await dashboard.snapshot();
        return s.workers.length === 1 && s;
      });
      expect(snapshot.redis.up).toBe(true);
    } finally {
      await dashboard.kill('SIGTERM');
    }
  });

  it("passes the certificates to the heartbeat thread of a worker given the application's own client", async () => {
    const namespace = uniqueNamespace();
    const client = track(new Redis(tlsOptions(redis, redis.clientTls())));
    const worker = track(
      createWorker({
        redis: client,
        namespace,
        id: 'w-client',
        handlers: { echo: (p: unknown) => p },
        logger: false,
      }),
    );
    await worker.start();
    const connected = await eventually(async () => {
      const names = await clientNames(client);
      return names.includes('ringcast-worker-presence:w-client') && names;
    });
    expect(connected).toContain('ringcast-worker-presence:w-client');
    await worker.close();
    await client.quit();
  });

  it('an untrusted server certificate: start() rejects REDIS_ERROR with the reason, once, with no retries after', async () => {
    const admin = track(new Redis(tlsOptions(redis, redis.clientTls())));
    const accepted = async () => {
      const stats = String(await admin.info('stats'));
      return Number(/total_connections_received:(\d+)/.exec(stats)?.[1]);
    };
    const before = await accepted();
    // No CA given: Node's own trust store does not know the run's CA.
    const dispatcher = track(
      createDispatcher({ redis: redis.url, namespace: uniqueNamespace(), logger: false }),
    );
    const error = (await dispatcher.start().catch((e: unknown) => e)) as RingcastError;
    expect(error.code).toBe(ErrorCode.REDIS_ERROR);
    expect(error.message).toMatch(/self-signed certificate in certificate chain|unable to verify/);
    await dispatcher.close();
    const closed = await accepted();
    // Its two connections, each tried once (or twice, had ioredis's first retry come first).
    expect(closed - before).toBeLessThanOrEqual(4);
    // The one place a fixed wait is right: what must not happen would happen later.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await accepted()).toBe(closed);
    await admin.quit();
  });

  it('an untrusted server certificate: the CLIs print one line with the reason and exit 1', async () => {
    const namespace = uniqueNamespace();
    const worker = await run.worker({ url: redis.url, namespace, waitReady: false });
    const exit = await worker.exited;
    expect(exit.code).toBe(1);
    const lines = worker.output().trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ringcast-worker: .*self-signed certificate in certificate chain/);

    const listed = await ringcastIn(redis.url, namespace, 'workers');
    expect(listed.code).toBe(1);
    expect(listed.stderr).toMatch(
      /^ringcast: cannot reach Redis: self-signed certificate in certificate chain .*\n$/,
    );
  });
});

describe.skipIf(!tlsRedisAvailable)('mutual TLS: the server requires a client certificate', () => {
  const redis = useTlsRedis('yes');
  const run = useProcesses();

  it('dispatches end to end with client certificates on both sides, and the admin CLI reads with its own', async () => {
    const namespace = uniqueNamespace();
    const withCert = tlsOptions(redis, redis.clientTls({ client: true }));
    await run.worker({
      url: redis.url,
      namespace,
      id: 'w-mtls',
      args: redis.cliArgs({ client: true }),
      probe: withCert,
    });
    const dispatcher = await run.dispatcher(withCert, namespace, 1);
    expect(await dispatcher.dispatch('echo', 'over mutual TLS')).toBe('over mutual TLS');

    const listed = await ringcastIn(
      redis.url,
      namespace,
      'workers',
      '--json',
      ...redis.cliArgs({ client: true }),
    );
    expect(listed).toMatchObject({ code: 0, stderr: '' });
  });

  it('without a client certificate the worker prints one line and exits 1', async () => {
    const worker = await run.worker({
      url: redis.url,
      namespace: uniqueNamespace(),
      args: redis.cliArgs(),
      waitReady: false,
    });
    const exit = await worker.exited;
    expect(exit.code).toBe(1);
    const lines = worker.output().trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    // The server's alert, or a reset before it was read: either way the line says why.
    expect(lines[0]).toMatch(
      /^ringcast-worker: .*(alert certificate required|require a client certificate).*\(redis 127\.0\.0\.1:\d+\)$/,
    );
  });

  it('refuses TLS flags that cannot work, before connecting: exit 2', async () => {
    const plain = redis.url.replace('rediss://', 'redis://');
    const worker = await run.worker({
      url: plain,
      namespace: uniqueNamespace(),
      args: redis.cliArgs(),
      waitReady: false,
    });
    expect((await worker.exited).code).toBe(2);
    expect(worker.output()).toMatch(/^ringcast-worker: --tls-ca needs a rediss:\/\/ URL/);

    const missing = await ringcastIn(
      redis.url,
      uniqueNamespace(),
      'workers',
      '--tls-ca',
      '/nonexistent/ca.pem',
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      'ringcast: --tls-ca "/nonexistent/ca.pem": cannot read it (ENOENT)\n',
    );
  });
});
