/**
 * The `ringcast` CLI as a process: installed by `npm ci`, shipped in its
 * package, and its exit codes for help, bad usage and an unreachable Redis.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_CLI, runRingcast } from '../support/admin-cli.js';
import { packedFiles, runUnbuilt } from '../support/bin-package.js';
import { freePort } from '../support/redis-server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'packages/admin/bin/ringcast.js');

describe('ringcast as the README runs it', () => {
  it('is linked by npm ci, and `npx ringcast --help` works from the repository', async () => {
    expect(existsSync(join(ROOT, 'node_modules/.bin/ringcast'))).toBe(true);
    const { stdout } = await promisify(execFile)('npx', ['ringcast', '--help'], { cwd: ROOT });
    expect(stdout).toMatch(/^Usage: ringcast <command> \[arguments\] \[options\]/);
    for (const command of ['workers', 'stats', 'reweight', 'drain', 'inspect', 'dashboard']) {
      expect(stdout).toContain(`\n  ${command}`);
    }
  });

  it('ships its bin and compiled CLI in the package', async () => {
    const files = await packedFiles(join(ROOT, 'packages/admin'));
    expect(files).toContain('bin/ringcast.js');
    expect(files).toContain('dist/cli.js');
    expect(files).toContain('dist/index.js');
    expect(files.filter((f) => f.endsWith('.test.js'))).toEqual([]);
  });

  it('says to build first, in one line, when the compiled CLI is missing', async () => {
    expect(await runUnbuilt(BIN)).toEqual({
      code: 1,
      stderr: expect.stringMatching(/^ringcast: the admin CLI is not built .*npm run build.*\n$/),
    });
  });
});

describe('ringcast exit codes', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await Promise.all(
      servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))),
    );
  });

  it('exits 0 for --help and for a command --help, printing to stdout', async () => {
    for (const args of [['--help'], ['-h'], ['reweight', '--help'], ['drain', '-h']]) {
      const run = await runRingcast(args);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toMatch(/^Usage: ringcast /);
    }
  });

  it.each([
    [[], 'a command is required'],
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['workers', '--no-such-flag'], '--no-such-flag'],
    [['reweight', 'w1', '0'], '<weight> must be an integer from 1 to 1000000'],
    [['reweight', 'w1', 'heavy'], '<weight> must be an integer'],
    [['reweight', 'w1'], 'missing <weight>'],
    [['drain', 'w1', '--timeout', 'later'], '--timeout must be whole milliseconds'],
    [['inspect'], 'missing <task-id>'],
    [['workers', '--namespace', 'bad namespace'], '--namespace must be'],
    [['workers', '--redis', 'http://127.0.0.1:6379'], 'must start with redis://'],
  ])('exits 2 with one line for bad usage: %j', async (args, message) => {
    const run = await runRingcast(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^ringcast: .* \(see --help\)$/),
    ]);
    expect(run.stderr).toContain(message);
  });

  it('exits 1 with one redacted line when nothing listens where Redis should be', async () => {
    const port = await freePort();
    const run = await runRingcast(
      ['workers', '--redis', `redis://admin:hunter2@127.0.0.1:${port}`],
      {
        timeoutMs: 15_000,
      },
    );
    expect(run.code).toBe(1);
    expect(run.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^ringcast: cannot reach Redis: .*127\\.0\\.0\\.1:${port}`)),
    ]);
    expect(run.stderr).not.toContain('hunter2');
  });

  it('takes REDIS_URL from the environment, and fails the same way', async () => {
    const port = await freePort();
    const run = await runRingcast(['stats'], {
      env: { REDIS_URL: `redis://:hunter2@127.0.0.1:${port}` },
      timeoutMs: 15_000,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`127.0.0.1:${port}`);
    expect(run.stderr).not.toContain('hunter2');
  });

  it('exits 1 within its connect timeout when Redis accepts but never answers', async () => {
    const server = createServer((socket) => {
      sockets.push(socket);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    // Killed after 15 s (code null) if it hung: it must give up by itself, after 3 s.
    const run = await runRingcast(['workers', '--redis', `redis://127.0.0.1:${port}`], {
      timeoutMs: 15_000,
    });
    expect(run.code).toBe(1);
    expect(run.stderr.trimEnd().split('\n')).toEqual([
      expect.stringContaining('cannot reach Redis: no answer within 3000 ms'),
    ]);
  });

  it('exits quietly when its reader goes away (`ringcast --help | head -1`)', async () => {
    const child = spawn(process.execPath, [ADMIN_CLI, '--help'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The reading end closes before the CLI has started: its first write meets EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const code = await new Promise((resolve) => child.once('close', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  });
});
