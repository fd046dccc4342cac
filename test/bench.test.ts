// `npm run bench -- --quick` must keep working; this runs it at tiny N and asserts no timing.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { STRATEGY_NAMES } from '@ringcast/dispatcher';
import { describe, expect, it } from 'vitest';
import { privateRedisAvailable } from './support/redis.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));

describe.skipIf(!privateRedisAvailable)('npm run bench -- --quick', () => {
  it('runs every scenario and prints the ratio summary', async () => {
    const env = { ...process.env };
    delete env['REDIS_URL'];
    const { stdout } = await promisify(execFile)(tsx, ['scripts/bench.ts', '--quick'], {
      cwd: root,
      env,
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const lines = stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const scenarios = new Set(lines.map((l) => l['scenario']).filter(Boolean));
    expect([...scenarios].sort()).toEqual([
      'auth',
      'baseline',
      'durable',
      'latency',
      'memory',
      'strategies',
      'throughput',
      'weighted',
    ]);
    // The strategies scenario: every strategy, each worker's share, and the keyed runs.
    const strategies = lines.find((l) => l['scenario'] === 'strategies') as {
      runs: Array<{
        strategy: string;
        errors: number;
        tasksPerSec: number;
        shares: Record<string, number>;
      }>;
      keyed: Array<Record<string, { busiestShare: number; errors: number }>>;
    };
    expect(strategies.runs.map((r) => r.strategy)).toEqual(STRATEGY_NAMES);
    for (const r of strategies.runs) {
      expect(r.errors).toBe(0);
      expect(r.tasksPerSec).toBeGreaterThan(0);
      expect(Object.keys(r.shares)).toHaveLength(4);
      expect(Object.values(r.shares).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 2);
    }
    expect(strategies.keyed.map((k) => k['zipfExponent'])).toEqual([1, 1.5]);
    for (const keyed of strategies.keyed) {
      for (const run of ['bounded', 'unbounded']) {
        expect(keyed[run]?.errors).toBe(0);
        expect(keyed[run]?.busiestShare).toBeGreaterThanOrEqual(0.25);
      }
    }
    // The floor both ways, and at throughput the step between it and ringcast.
    const baselines = lines
      .filter((l) => l['scenario'] === 'baseline')
      .map((l) => `${l['variant']} @ ${l['shape']}`);
    expect(baselines.sort()).toEqual([
      "batched, in ringcast's frames, no bookkeeping @ throughput",
      'one PUBLISH per task @ latency',
      'one PUBLISH per task @ throughput',
      'one PUBLISH per worker per tick @ latency',
      'one PUBLISH per worker per tick @ throughput',
    ]);
    // The durable scenario: both systems on a Redis with AOF, their figures and memory per task.
    const durable = lines.find((l) => l['scenario'] === 'durable')!;
    expect(durable).toMatchObject({ redis: 'AOF, appendfsync everysec', workers: 2 });
    for (const system of ['ringcast', 'bullmq']) {
      const side = durable[system] as Record<string, unknown> & { memory: Record<string, number> };
      expect(side).toMatchObject({ errors: 0, n: durable['n'], w: durable['w'] });
      for (const key of ['tasksPerSec', 'p50', 'p99']) expect(side[key]).toBeGreaterThan(0);
      expect(side.memory['bytesPerStoredTask']).toBeGreaterThan(0);
      expect(side.memory['bytesPerFinishedRecord']).toBeGreaterThan(0);
    }
    expect(durable['ratio']).toBeGreaterThan(0);
    // The auth scenario: the throughput shape off, signed, and signed and encrypted.
    const auth = lines.find((l) => l['scenario'] === 'auth')!;
    for (const variant of ['off', 'signed', 'encrypted']) {
      expect(auth[variant]).toMatchObject({ errors: 0, n: auth['n'], w: auth['w'] });
      expect((auth[variant] as { tasksPerSec: number }).tasksPerSec).toBeGreaterThan(0);
    }
    expect(auth['signedRatio']).toBeGreaterThan(0);
    expect(auth['encryptedRatio']).toBeGreaterThan(0);
    const summary = lines.find((l) => l['summary'] === true);
    expect(summary).toMatchObject({ errors: 0 });
    expect(summary?.['durableRatio']).toBeGreaterThan(0);
    expect(summary?.['authOnRatio']).toBe(auth['signedRatio']);
    expect(summary?.['authEncryptedRatio']).toBe(auth['encryptedRatio']);
    const ratios = ['throughputRatio', 'sequentialP50Ratio', 'p99Ratio'];
    const steps = ['wireRatio', 'ringcastToWireRatio'];
    for (const key of [...ratios, ...steps, 'heapGrowthPct']) {
      expect(summary?.[key]).toBeGreaterThan(key === 'heapGrowthPct' ? -100 : 0);
    }
    // The two steps multiply to the whole gap (up to rounding).
    const product =
      (summary?.['wireRatio'] as number) * (summary?.['ringcastToWireRatio'] as number);
    expect(product).toBeCloseTo(summary?.['throughputRatio'] as number, 2);
    // --quick makes one repeat: one back-to-back ratio each, equal to the headline one.
    const perRepeat = summary?.['perRepeat'] as Record<string, number[]>;
    for (const key of [...ratios, ...steps]) {
      expect(perRepeat[key]).toEqual([summary?.[key]]);
    }
  }, 150_000);
});

describe.skipIf(!privateRedisAvailable)('npm run bench -- --max-queue', () => {
  const bench = (args: string[]) => {
    const env = { ...process.env };
    delete env['REDIS_URL'];
    return promisify(execFile)(tsx, ['scripts/bench.ts', '--quick', ...args], {
      cwd: root,
      env,
      timeout: 60_000,
    });
  };

  it.each([
    [[], 100],
    [['--max-queue', '0'], 0],
    [['--max-queue', '250'], 250],
  ])(
    'with %j, the echo workers advertise a maxQueue of %i',
    async (args, expected) => {
      const { stdout } = await bench(['--scenario', 'throughput', ...args]);
      const line = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l['scenario'] === 'throughput');
      expect(line).toMatchObject({ maxQueue: expected, errors: 0 });
    },
    90_000,
  );

  it('refuses a negative depth, in one line', async () => {
    await expect(bench(['--max-queue=-1'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--max-queue must be a non-negative integer/),
    });
  });
});

describe.skipIf(!privateRedisAvailable)('npm run bench -- --strategy and --svg', () => {
  const bench = (args: string[]) => {
    const env = { ...process.env };
    delete env['REDIS_URL'];
    return promisify(execFile)(tsx, ['scripts/bench.ts', '--quick', ...args], {
      cwd: root,
      env,
      timeout: 90_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  };
  const jsonLines = (stdout: string) =>
    stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it('runs the throughput scenario with every strategy and reports each one’s ratio to the ring', async () => {
    const { stdout } = await bench(['--scenario', 'throughput', '--strategy', 'all']);
    const lines = jsonLines(stdout);
    const throughput = lines.filter((l) => l['scenario'] === 'throughput');
    expect(throughput.map((l) => l['strategy'])).toEqual(STRATEGY_NAMES);
    for (const l of throughput.slice(1)) {
      expect(l).toMatchObject({ errors: 0 });
      expect(l['ratioToRing']).toBeGreaterThan(0);
    }
    const summary = lines.find((l) => l['summary'] === true)!;
    const ratios = summary['strategyThroughputRatios'] as Record<string, number>;
    expect(Object.keys(ratios)).toEqual(STRATEGY_NAMES.filter((n) => n !== 'weighted-round-robin'));
    expect(summary['strategiesWorstRatio']).toBe(Math.min(...Object.values(ratios)));
  }, 120_000);

  it('draws the strategies chart where --svg says', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringcast-bench-svg-'));
    try {
      const path = join(dir, 'chart.svg');
      await bench(['--scenario', 'strategies', '--svg', path]);
      const svg = readFileSync(path, 'utf8');
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      for (const name of STRATEGY_NAMES) expect(svg).toContain(`>${name}</text>`);
      expect(svg).toContain('s = 1.5, with the bound');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('refuses a strategy it does not know, in one line', async () => {
    await expect(
      bench(['--scenario', 'throughput', '--strategy', 'fastest']),
    ).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--strategy: unknown strategy "fastest"/),
    });
  });
});

describe.skipIf(!privateRedisAvailable)('scripts/bench/alone.ts', () => {
  it.each(['dispatcher', 'worker'])(
    'measures the %s side alone',
    async (side) => {
      const env = { ...process.env };
      delete env['REDIS_URL'];
      const { stdout } = await promisify(execFile)(
        tsx,
        ['scripts/bench/alone.ts', '--side', side, '--n', '2000', '--runs', '2'],
        { cwd: root, env, timeout: 60_000 },
      );
      const lines = stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines).toHaveLength(3);
      for (const run of lines.slice(0, 2)) {
        expect(run).toMatchObject({ n: 2000 });
        expect(run['cpuUsPerTask']).toBeGreaterThan(0);
      }
      expect(lines[2]).toMatchObject({ median: true, side, runs: 2 });
    },
    90_000,
  );

  it("writes the worker side's CPU profile with --profile", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringcast-alone-profile-'));
    try {
      const env = { ...process.env };
      delete env['REDIS_URL'];
      await promisify(execFile)(
        tsx,
        [
          'scripts/bench/alone.ts',
          '--side',
          'worker',
          '--n',
          '2000',
          '--runs',
          '1',
          '--profile',
          dir,
        ],
        { cwd: root, env, timeout: 60_000 },
      );
      // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: the worker's heartbeat
      // thread writes one of its own; the main thread is thread 0.
      const profiles = readdirSync(dir).filter((f) =>
        /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f),
      );
      expect(profiles).toHaveLength(1);
      const profile = JSON.parse(readFileSync(join(dir, profiles[0]!), 'utf8')) as {
        nodes: unknown[];
      };
      expect(profile.nodes.length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('refuses a side it does not know, in one line', async () => {
    const run = promisify(execFile)(tsx, ['scripts/bench/alone.ts', '--side', 'redis'], {
      cwd: root,
    });
    await expect(run).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--side/) });
  });
});
