// End to end: `npm run demo` as a newcomer runs it, in each way it can find Redis.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { portAnswers } from '../support/processes.js';
import { privateRedisAvailable } from '../support/redis.js';
import { clusterAvailable } from '../support/redis-cluster.js';
import { startRedisServer } from '../support/redis-server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEMO = join(ROOT, 'scripts/demo.ts');
/** Big enough to kill a worker halfway and see it replaced, small enough for a few seconds. */
const TASKS = '600';
const RUN_TIMEOUT_MS = 30_000;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

/** The environment without REDIS_URL, so the demo looks for redis-server itself. */
function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env['REDIS_URL'];
  return env;
}

/**
 * Runs the demo with tsx the way `npm run demo` does (the packages are already built).
 * `onStdout` sees the output as it arrives, to act mid-run.
 */
function runDemo(
  args: string[],
  env: NodeJS.ProcessEnv,
  onStdout?: (soFar: string, child: ChildProcess) => void,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', DEMO, ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`demo did not finish in ${RUN_TIMEOUT_MS} ms; output:\n${stdout}${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      onStdout?.(stdout, child);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function namespaceOf(stdout: string): string {
  const match = /namespace (demo-[0-9a-f]{8})/.exec(stdout);
  if (!match) throw new Error(`no namespace in the demo's output:\n${stdout}`);
  return match[1]!;
}

function portOf(stdout: string): number {
  const match = /private redis-server on 127\.0\.0\.1:(\d+)/.exec(stdout);
  if (!match) throw new Error(`no redis-server port in the demo's output:\n${stdout}`);
  return Number(match[1]);
}

/** Command lines of live processes that mention `text` (the demo's workers carry its namespace). */
function processesMentioning(text: string): string[] {
  const lines = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n');
  return lines.filter((line) => line.includes(text) && !line.startsWith('ps '));
}

/** A PATH without any directory holding redis-server, plus a directory holding only node. */
function pathWithoutRedisServer(): { path: string; cleanup(): void } {
  const nodeDir = mkdtempSync(join(tmpdir(), 'ringcast-demo-node-'));
  symlinkSync(process.execPath, join(nodeDir, 'node'));
  const kept = (process.env['PATH'] ?? '').split(delimiter).filter((dir) => {
    if (!dir) return false;
    try {
      accessSync(join(dir, 'redis-server'), constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  return {
    path: [nodeDir, ...kept].join(delimiter),
    cleanup: () => rmSync(nodeDir, { recursive: true, force: true }),
  };
}

/** What every successful run shows: the table, a worker killed and replaced, nothing lost. */
function expectCleanRun(run: Run): void {
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/^ {2}worker-3 \(killed\) +5 /m);
  expect(run.stdout).toMatch(/^ {2}worker-4 \(fresh\) +5 /m);
  expect(run.stdout).toMatch(/\blost 0\b/);
  expect(run.stdout).toMatch(/\bduplicates 0\b/);
  expect(run.stdout).toContain(`${Number(TASKS).toLocaleString('en-US')} tasks in `);
  expect(run.stdout).toContain('Every task settled exactly once with its own result.');
}

describe('demo: flags', () => {
  it('--help describes every flag and exits 0', async () => {
    const run = await runDemo(['--help'], baseEnv());
    expect(run.code).toBe(0);
    for (const flag of ['--tasks', '--weights', '--no-kill', '--durable', '--cluster', '--help']) {
      expect(run.stdout).toContain(flag);
    }
  });

  it.each([
    ['an unknown flag', ['--bogus'], /Unknown option '--bogus'/],
    ['a task count that is not a number', ['--tasks', 'many'], /--tasks must be an integer/],
    ['a zero weight', ['--weights', '1,0,5'], /--weights must be an integer/],
    ['a positional argument', ['now'], /positional/],
    [
      '--cluster with --durable',
      ['--cluster', '--durable'],
      /--cluster does not go with --durable/,
    ],
  ])('exits 2 with one line on %s', async (_what, args, pattern) => {
    const run = await runDemo(args, baseEnv());
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(pattern);
  });
});

describe.skipIf(!privateRedisAvailable)('demo: private redis-server from the PATH', () => {
  it('settles every task through a SIGKILLed worker and leaves nothing running', async () => {
    const run = await runDemo(['--tasks', TASKS], baseEnv());
    expectCleanRun(run);
    expect(run.stdout).toContain('killed with SIGKILL');
    expect(processesMentioning(namespaceOf(run.stdout))).toEqual([]);
    expect(await portAnswers(portOf(run.stdout))).toBe(false);
  });

  it('on SIGINT stops its workers and redis-server and exits 130', async () => {
    let sent = false;
    const run = await runDemo(['--tasks', '200000'], baseEnv(), (soFar, child) => {
      if (!sent && soFar.includes('Dispatching')) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    expect(sent).toBe(true);
    expect(run.code).toBe(130);
    expect(processesMentioning(namespaceOf(run.stdout))).toEqual([]);
    expect(await portAnswers(portOf(run.stdout))).toBe(false);
  });
});

describe.skipIf(!clusterAvailable)('demo: --cluster', () => {
  it('runs on a local 3-master cluster it starts, settles every task through a SIGKILLed worker, and stops every node', async () => {
    const run = await runDemo(['--cluster', '--tasks', TASKS], baseEnv());
    expectCleanRun(run);
    expect(run.stdout).toContain('a local Redis Cluster, 3 masters + 3 replicas on ');
    expect(run.stdout).toContain('killed with SIGKILL');
    expect(processesMentioning(namespaceOf(run.stdout))).toEqual([]);
    const spec = /3 replicas on ([\d.:,]+),? stopped/.exec(run.stdout)?.[1] ?? '';
    const ports = spec
      .split(',')
      .filter((node) => node !== '')
      .map((node) => Number(node.split(':')[1]));
    expect(ports).toHaveLength(6);
    for (const port of ports) expect(await portAnswers(port)).toBe(false);
  });
});

describe.skipIf(!privateRedisAvailable)('demo: --durable', () => {
  it('kills the submitting dispatcher process halfway; a second one adopts its tasks and finishes every one', async () => {
    const run = await runDemo(['--durable', '--tasks', TASKS], baseEnv());
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/dispatcher-1 killed with SIGKILL at [\d,]+\/600 finished/);
    expect(run.stdout).toMatch(/dispatcher-2 \(pid \d+\) adopted them/);
    // Every promised task succeeded; a submit the kill cut short is counted apart.
    expect(run.stdout).toMatch(/^ {2}total +([\d,]+) +\1 +0 +0 +0 +0$/m);
    expect(run.stdout).toMatch(/\blost 0 +settled twice 0 +wrong 0 +unexpected 0\b/);
    expect(run.stdout).toContain(
      'Every submitted task reached exactly one terminal state, with its own result.',
    );
    expect(processesMentioning(namespaceOf(run.stdout))).toEqual([]);
    expect(await portAnswers(portOf(run.stdout))).toBe(false);
  });
});

describe.skipIf(!privateRedisAvailable)('demo: REDIS_URL', () => {
  it('uses the Redis it is given and leaves no keys of its namespace in it', async () => {
    const server = await startRedisServer();
    try {
      const run = await runDemo(['--tasks', TASKS], { ...baseEnv(), REDIS_URL: server.url });
      expectCleanRun(run);
      expect(run.stdout).toContain(`Redis at REDIS_URL (127.0.0.1:${server.port})`);
      const client = new Redis(server.url);
      try {
        expect(await client.keys(`${namespaceOf(run.stdout)}*`)).toEqual([]);
      } finally {
        await client.quit();
      }
    } finally {
      await server.stop();
    }
  });
});

describe('demo: embedded stand-in (no REDIS_URL, no redis-server on the PATH)', () => {
  it('announces the stand-in in one line and settles every task through a killed worker', async () => {
    const { path, cleanup } = pathWithoutRedisServer();
    try {
      const run = await runDemo(['--tasks', TASKS], baseEnv({ PATH: path }));
      expectCleanRun(run);
      const notice = run.stdout.split('\n').filter((line) => line.includes('in-process stand-in'));
      expect(notice).toHaveLength(1);
      expect(notice[0]).toMatch(/trying ringcast out/);
      expect(notice[0]).toMatch(/REDIS_URL=/);
      expect(run.stdout).toContain('killed (connections cut, no drain)');
    } finally {
      cleanup();
    }
  });

  it('--durable says in one line that it needs a real Redis and exits 1', async () => {
    const { path, cleanup } = pathWithoutRedisServer();
    try {
      const run = await runDemo(['--durable', '--tasks', TASKS], baseEnv({ PATH: path }));
      expect(run.code).toBe(1);
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/--durable .* install redis-server .* or set REDIS_URL/);
    } finally {
      cleanup();
    }
  });
});
