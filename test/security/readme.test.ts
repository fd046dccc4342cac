/**
 * The root README's Security section, run: the `ringcast acl` output it shows
 * is what the command prints, and its ACL recipe works as written against a
 * private redis-server (its port put in place of the default one, which tests
 * never use).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { names } from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { runRingcast } from '../support/admin-cli.js';
import { privateRedisAvailable, usePrivateRedis } from '../support/redis.js';
import { track } from '../support/track.js';
import { eventually } from '../worker/fake-dispatcher.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

function securitySection(): string {
  const start = README.indexOf('\n## Security\n');
  expect(start).toBeGreaterThan(0);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end);
}

/** Kills a process started with `detached` and everything it started, and waits for it. */
async function stopGroup(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
  await exited;
}

describe('the Security section of the README', () => {
  it('shows what ringcast acl prints', async () => {
    const shown = [...securitySection().matchAll(/^\$ npx ringcast (acl .*)\n(.+)$/gm)];
    expect(shown).not.toHaveLength(0);
    for (const [, command, output] of shown) {
      const run = await runRingcast(command!.split(' '), { env: { REDIS_URL: '' } });
      expect(run).toEqual({ code: 0, stdout: `${output}\n`, stderr: '' });
    }
  });
});

describe.skipIf(!privateRedisAvailable)('the README ACL recipe', () => {
  const redis = usePrivateRedis();

  it('creates the user, and the worker runs as that user', async () => {
    const block = /```sh\n(export WORKER_1_PASSWORD=[\s\S]*?)```/.exec(securitySection())?.[1];
    expect(block).toBeDefined();
    const { port } = redis.server;
    // Exactly one Redis address in each place, so the script below reaches only the private server.
    expect(block!.split('| redis-cli\n')).toHaveLength(2);
    expect(block!.split('127.0.0.1:6379')).toHaveLength(2);
    const script = block!
      .replace('| redis-cli\n', `| redis-cli -p ${port}\n`)
      .replace('127.0.0.1:6379', `127.0.0.1:${port}`)
      .replace('npx ringcast-worker', 'exec npx ringcast-worker');
    const admin = track(new Redis(redis.url));
    let output = '';
    const shell = spawn('bash', ['-c', script], { cwd: ROOT, detached: true, stdio: 'pipe' });
    shell.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    shell.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    try {
      const heartbeat = names('prod').heartbeatKey('worker-1');
      await eventually(async () => (await admin.exists(heartbeat)) === 1, 30_000).catch(() => {
        throw new Error(`the recipe's worker did not start; output:\n${output}`);
      });
      expect(output).toContain('OK');
      const users = String(await admin.call('CLIENT', 'LIST'))
        .split('\n')
        .filter((line) => / name=ringcast-worker(-presence)?:worker-1 /.test(line))
        .map((line) => / user=(\S+)/.exec(line)?.[1]);
      expect(users).toEqual([
        'prod-worker-worker-1',
        'prod-worker-worker-1',
        'prod-worker-worker-1',
      ]);
      const rules = String(await admin.call('ACL', 'GETUSER', 'prod-worker-worker-1'));
      expect(rules).toContain('~prod:hb:worker-1');
      await stopGroup(shell, 'SIGTERM');
      await eventually(async () => (await admin.exists(heartbeat)) === 0);
      expect(await admin.call('ACL', 'LOG', '1000')).toEqual([]);
    } finally {
      await stopGroup(shell, 'SIGKILL');
      await admin.quit();
    }
  });
});
