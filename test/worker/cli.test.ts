import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packedFiles, runUnbuilt } from '../support/bin-package.js';
import { redisAvailability, uniqueNamespace, useRedis } from '../support/redis.js';
import { freePort } from '../support/redis-server.js';
import { spawnWorker, WORKER_CLI, type WorkerProcess } from '../support/workers.js';
import { eventually, FakeDispatcher } from './fake-dispatcher.js';

/** Runs the CLI to completion; for the cases that must exit by themselves. */
function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [WORKER_CLI, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'packages/worker/bin/ringcast-worker.js');

describe('ringcast-worker as the README runs it', () => {
  it('is linked by npm ci, and `npx ringcast-worker --help` works from the repository', async () => {
    // Linked at install time, before any build: so the bin must not be a build output.
    expect(existsSync(join(ROOT, 'node_modules/.bin/ringcast-worker'))).toBe(true);
    const { stdout } = await promisify(execFile)('npx', ['ringcast-worker', '--help'], {
      cwd: ROOT,
    });
    expect(stdout).toMatch(/^Usage: ringcast-worker --handlers <module>/);
  });

  it('ships its bin in the package', async () => {
    const files = await packedFiles(join(ROOT, 'packages/worker'));
    expect(files).toContain('bin/ringcast-worker.js');
    expect(files).toContain('dist/cli.js');
  });

  it('says to build first when the compiled CLI is missing', async () => {
    const result = await runUnbuilt(BIN);
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      expect.stringContaining('run `npm run build` first'),
    ]);
  });
});

describe('ringcast-worker CLI: usage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringcast-cli-'));

  it('--help describes every flag and exits 0', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    for (const flag of [
      '--handlers',
      '--redis',
      '--namespace',
      '--id',
      '--concurrency',
      '--weight',
      '--max-queue',
      '--drain-timeout',
    ]) {
      expect(stdout).toContain(flag);
    }
  });

  it.each([
    ['an unknown flag', ['--handlers', 'x.js', '--bogus'], /unknown option --bogus \(see --help\)/],
    ['a missing --handlers', [], /--handlers <module> is required/],
    ['a non-numeric concurrency', ['--handlers', 'x.js', '--concurrency', 'lots'], /--concurrency/],
    ['a missing handlers file', ['--handlers', './no/such/file.js'], /handlers module not found/],
  ])('exits 2 with one line on %s', async (_what, args, pattern) => {
    const { code, stderr } = await runCli(args);
    expect(code).toBe(2);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(pattern);
  });

  it('exits 2 on a module without functions and on an invalid option value', async () => {
    const empty = join(dir, 'empty.mjs');
    writeFileSync(empty, 'export const x = 1;\n');
    const none = await runCli(['--handlers', empty]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/exports no functions/);

    const echo = join(dir, 'echo.mjs');
    writeFileSync(echo, 'export default { echo: (p) => p };\n');
    const bad = await runCli(['--handlers', echo, '--concurrency', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/concurrency must be an integer from 1/);
  });

  it.each([
    'Redis://:secret@127.0.0.1:1',
    'redis:/:secret@127.0.0.1:1',
    'tcp://u:secret@127.0.0.1:1',
  ])('exits 2 with one line on the malformed URL %s, without its password', async (url) => {
    const echo = join(dir, 'echo-url.mjs');
    writeFileSync(echo, 'export default { echo: (p) => p };\n');
    const { code, stdout, stderr } = await runCli(['--handlers', echo, '--redis', url]);
    expect(code).toBe(2);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/redis URL must start with redis:\/\/ or rediss:\/\//);
    expect(stdout + stderr).not.toContain('secret');
  });

  it('exits 1 with one line naming the cause when Redis refuses the connection', async () => {
    const echo = join(dir, 'echo-refused.mjs');
    writeFileSync(echo, 'export default { echo: (p) => p };\n');
    const port = await freePort();
    const url = `redis://:s3cr3t@127.0.0.1:${port}`;
    const { code, stdout, stderr } = await runCli(['--handlers', echo, '--redis', url]);
    expect(code).toBe(1);
    expect(stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^ringcast-worker: worker .* could not start: connect ECONNREFUSED/),
    ]);
    expect(stdout + stderr).not.toContain('s3cr3t');
  });
});

describe.skipIf(!redisAvailability.available)('ringcast-worker CLI against Redis', () => {
  const redis = useRedis();
  let namespace: string;
  let fake: FakeDispatcher;
  let processes: WorkerProcess[];

  beforeEach(async () => {
    namespace = uniqueNamespace();
    processes = [];
    fake = await FakeDispatcher.create(redis.url, namespace);
  });

  afterEach(async () => {
    await Promise.all(processes.map((p) => p.kill()));
    await fake.close();
  });

  async function start(options: Parameters<typeof spawnWorker>[0]): Promise<WorkerProcess> {
    const worker = await spawnWorker(options);
    processes.push(worker);
    return worker;
  }

  it('serves the fixture handlers, logs start and stop, and leaves on SIGTERM', async () => {
    const worker = await start({ url: redis.url, namespace, concurrency: 4, weight: 2 });
    const port = new URL(redis.url).port;
    // Registered (what spawnWorker waits for) comes just before the line reaches our pipe.
    const startLine = await eventually(() =>
      worker
        .output()
        .split('\n')
        .find((l) => l.includes('started')),
    );
    expect(startLine).toContain(worker.id);
    expect(startLine).toMatch(/weight 2, concurrency 4/);
    for (const name of ['echo', 'sleep', 'fail', 'hash']) expect(startLine).toContain(name);
    expect(startLine).toContain(`127.0.0.1:${port}`);

    const echo = fake.task('echo', { a: 1 });
    const hash = fake.task('hash', { rounds: 3 });
    const fail = fake.task('fail', {
      name: 'BadThing',
      message: 'nope',
      retryable: true,
      code: 'E1',
    });
    await fake.send(worker.id, echo, hash, fail);
    expect(await fake.reply('result', echo.token)).toMatchObject({ ok: true, value: { a: 1 } });
    expect(await fake.reply('result', hash.token)).toMatchObject({
      ok: true,
      value: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(await fake.reply('result', fail.token)).toMatchObject({
      ok: false,
      error: { name: 'BadThing', message: 'nope', retryable: true, code: 'E1' },
    });

    // A running task is delivered before the process exits.
    const sleep = fake.task('sleep', { ms: 200, value: 'slept' });
    await fake.send(worker.id, sleep);
    await fake.reply('ack', sleep.token);
    const hello = fake.control.find((m) => m.kind === 'hello');
    await worker.stop();
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(await fake.reply('result', sleep.token)).toMatchObject({ ok: true, value: 'slept' });
    const leave = await fake.next((m) => m.kind === 'leave');
    expect(hello && hello.kind === 'hello' && leave.kind === 'leave').toBe(true);
    if (hello?.kind === 'hello' && leave.kind === 'leave') {
      expect(leave.incarnation).toBe(hello.worker.incarnation);
    }
    expect(await fake.command.hexists(fake.names.registryKey, worker.id)).toBe(0);
    await eventually(() => /stopped/.test(worker.output()));
  });

  it('takes REDIS_URL and RINGCAST_NAMESPACE from the environment', async () => {
    const child = spawn(
      process.execPath,
      [
        WORKER_CLI,
        '--handlers',
        join(import.meta.dirname, '../fixtures/handlers.js'),
        '--id',
        'env-worker',
      ],
      {
        env: { ...process.env, REDIS_URL: redis.url, RINGCAST_NAMESPACE: namespace },
        stdio: 'ignore',
      },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await eventually(
        async () => (await fake.command.exists(fake.names.heartbeatKey('env-worker'))) === 1,
      );
      const task = fake.task('echo', 'env');
      await fake.send('env-worker', task);
      expect(await fake.reply('result', task.token)).toMatchObject({ value: 'env' });
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('its heartbeat key lapses after SIGKILL', async () => {
    const worker = await start({
      url: redis.url,
      namespace,
      heartbeatIntervalMs: 100,
      heartbeatTtlMs: 400,
    });
    const key = fake.names.heartbeatKey(worker.id);
    expect(await fake.command.exists(key)).toBe(1);
    const killedAt = Date.now();
    await worker.kill('SIGKILL');
    await eventually(async () => (await fake.command.exists(key)) === 0, 5_000, 'heartbeat lapse');
    expect(Date.now() - killedAt).toBeLessThan(2_000);
    // No leave: a killed worker cannot announce it, which is what the TTL is for.
    expect(fake.control.some((m) => m.kind === 'leave')).toBe(false);
  });

  it('a second signal forces exit without draining', async () => {
    const worker = await start({ url: redis.url, namespace, drainTimeoutMs: 60_000 });
    const sleep = fake.task('sleep', { ms: 60_000 });
    await fake.send(worker.id, sleep);
    await fake.reply('ack', sleep.token);
    worker.child.kill('SIGTERM');
    await fake.next((m) => m.kind === 'leave');
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 1, signal: null });
    await eventually(() => /SIGTERM again, exiting without draining/.test(worker.output()));
  });
});
