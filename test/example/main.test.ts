// `npm run example` as a newcomer runs it: the example's start script (node dist/main.js),
// with the packages built, as the root script runs it after `turbo run build`.
import { fileURLToPath } from 'node:url';
import { REDIS_SERVER_MISSING } from '@ringcast/example-http-api';
import { describe, expect, it } from 'vitest';
import { type NodeProcess, spawnNode } from '../support/node-process.js';
import { isAlive, portAnswers } from '../support/processes.js';
import { privateRedisAvailable } from '../support/redis.js';
import { eventually } from '../worker/fake-dispatcher.js';

const MAIN = fileURLToPath(new URL('../../examples/http-api/dist/main.js', import.meta.url));
const RUN_TIMEOUT_MS = 25_000;

/** The environment without REDIS_URL, so the example starts its own redis-server. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete base['REDIS_URL'];
  return base;
}

function example(args: string[], extra: Record<string, string> = {}): NodeProcess {
  return spawnNode([MAIN, ...args], { env: env(extra) });
}

async function finished(run: NodeProcess): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void run.kill('SIGKILL');
      reject(new Error(`the example did not finish in time; output:\n${run.output()}`));
    }, RUN_TIMEOUT_MS);
  });
  try {
    return (await Promise.race([run.exited, late])).code;
  } finally {
    clearTimeout(timer);
  }
}

/** What the example printed about its processes: the redis-server's port and every pid. */
function startedProcesses(output: string): { redisPort: number; pids: number[] } {
  const port = /Redis +redis:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1];
  const pids = [...output.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
  if (!port || pids.length !== 4) throw new Error(`no redis port or pids in:\n${output}`);
  return { redisPort: Number(port), pids };
}

async function expectAllGone(output: string): Promise<void> {
  const { redisPort, pids } = startedProcesses(output);
  for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
  expect(await portAnswers(redisPort)).toBe(false);
}

describe('npm run example: flags', () => {
  it('--help describes every flag and exits 0', async () => {
    const run = example(['--help']);
    expect(await finished(run)).toBe(0);
    for (const flag of ['--duration', '--rate', '--concurrency', '--weights', '--port', '--keep']) {
      expect(run.output()).toContain(flag);
    }
  });

  it.each([
    [['--duration', 'soon'], /--duration must be an integer from 0 to 3600/],
    [['--weights', '1,0'], /--weights must be an integer from 1 to 100/],
    [['--bogus'], /Unknown option '--bogus'/],
  ])('%j exits 2 with one line', async (args, pattern) => {
    const run = example(args);
    expect(await finished(run)).toBe(2);
    expect(run.output().trimEnd().split('\n')).toHaveLength(1);
    expect(run.output()).toMatch(pattern);
  });

  it('without redis-server on the PATH or REDIS_URL says so in one line and exits 1', async () => {
    const run = example(['--duration', '1'], { PATH: '' });
    expect(await finished(run)).toBe(1);
    expect(run.output()).toBe(`example: ${REDIS_SERVER_MISSING}\n`);
  });
});

describe.skipIf(!privateRedisAvailable)('npm run example: a run', () => {
  it('serves a load, prints the summary and the URLs to inspect, exits 0 and leaves nothing running', async () => {
    const run = example(['--duration', '2', '--rate', '50', '--port', '0']);
    expect(await finished(run)).toBe(0);
    const output = run.output();
    expect(output).toMatch(/API +http:\/\/127\.0\.0\.1:\d+/);
    expect(output).toMatch(/Inspect +npx ringcast workers --redis redis:\/\/127\.0\.0\.1:\d+/);
    expect(output).toMatch(/^ {2}POST \/thumbnails +\d+ +200 ×\d+/m);
    expect(output).toMatch(/\b0 unexpected\b/);
    expect(output).toMatch(/tasks run by: worker-1 \d+%, worker-2 \d+%, worker-3 \d+%/);
    expect(output).toContain('Every request succeeded or failed as intended');
    await expectAllGone(output);
  });

  it('--keep serves until SIGINT, then stops everything and exits 0', async () => {
    const run = example(['--duration', '0', '--keep', '--port', '0']);
    const apiUrl = await eventually(
      () => /Serving at (http:\/\/\S+) until Ctrl-C/.exec(run.output())?.[1],
      RUN_TIMEOUT_MS,
      'the example to serve',
    );
    const health = await fetch(`${apiUrl}/health`);
    expect(await health.json()).toEqual({ status: 'ok', workers: 3 });
    run.child.kill('SIGINT');
    expect(await finished(run)).toBe(0);
    await expectAllGone(run.output());
    expect(await portAnswers(Number(new URL(apiUrl).port))).toBe(false);
  });

  it('SIGINT during the load stops everything and exits 130', async () => {
    const run = example(['--duration', '60', '--rate', '50', '--port', '0']);
    await eventually(() => run.output().includes('Load: '), RUN_TIMEOUT_MS, 'the load to start');
    run.child.kill('SIGINT');
    expect(await finished(run)).toBe(130);
    expect(run.output()).toContain('Interrupted: stopping the API, the workers and Redis');
    await expectAllGone(run.output());
  });
});
