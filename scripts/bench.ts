// `npm run bench`: ringcast against the floor it stands on, in one run on one machine.
// The contract (workload, scenarios, targets) is docs/benchmarks.md; this prints one JSON line
// per scenario, a summary line with the ratios, and a table on stderr.
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Dispatcher, StrategyName } from '@ringcast/dispatcher';
import { redactUrl } from '@ringcast/protocol';
import { AUTH_VARIANTS, type AuthRuns, runAuth } from './bench/auth.js';
import {
  type BaselineVariant,
  type BaselineWorkers,
  baselineClient,
  startBaselineWorkers,
} from './bench/baseline.js';
import { strategiesSvg } from './bench/chart.js';
import { runCluster } from './bench/cluster.js';
import type { DurableRun, DurableSystem, RedisMemory } from './bench/durable.js';
import {
  BenchError,
  type Child,
  cleanup,
  cpuMeter,
  startRedis,
  useLogDir,
} from './bench/harness.js';
import { closedLoop, medianOf, round, type Summary, summarize } from './bench/loop.js';
import { closeDispatcher, readyDispatcher, startWorkers } from './bench/ringcast.js';
import { runScale, SCALE_SHAPES } from './bench/scale.js';
import {
  parseStrategies,
  runStrategies,
  STRATEGY_FLEET,
  type StrategiesResult,
  type StrategyRun,
} from './bench/strategies.js';

const SCENARIOS = [
  'baseline',
  'throughput',
  'latency',
  'weighted',
  'memory',
  'strategies',
  'durable',
  'auth',
  'scale',
  'cluster',
] as const;
type Scenario = (typeof SCENARIOS)[number];
/**
 * Run only when named: `scale` starts a fleet of 1,000 workers in several processes, takes
 * about two minutes and measures discovery rather than the task path; `cluster` starts six
 * redis-servers (`--cluster` names it).
 */
const ON_REQUEST: readonly Scenario[] = ['scale', 'cluster'];

/** W and N per scenario, full and --quick. The memory scenario also measures at N / 10. */
const SIZES: Record<Scenario, { full: [number, number]; quick: [number, number] }> = {
  throughput: { full: [1000, 100_000], quick: [1000, 2_000] },
  latency: { full: [1, 5_000], quick: [1, 200] },
  weighted: { full: [200, 40_000], quick: [200, 800] },
  memory: { full: [1000, 1_000_000], quick: [1000, 20_000] },
  strategies: { full: [200, 40_000], quick: [200, 400] },
  durable: { full: [1000, 50_000], quick: [1000, 2_000] },
  auth: { full: [1000, 100_000], quick: [1000, 2_000] },
  // The scale scenario's shape is SCALE_SHAPES (bench/scale.ts); these are unused.
  scale: { full: [0, 0], quick: [0, 0] },
  cluster: { full: [1000, 100_000], quick: [1000, 2_000] },
  // The baseline runs both the throughput and the latency shape; these are unused.
  baseline: { full: [0, 0], quick: [0, 0] },
};
const WORKER_CONCURRENCY = 100;
const WEIGHTS = [1, 2, 5];
const HANDLER_SLEEP_MS = 1;
const DATA = 'x'.repeat(64);
const GLOBAL_TIMEOUT_MS = 20 * 60_000;

const TARGETS = {
  throughputRatio: 0.75,
  metricsOnRatio: 0.95,
  ringcastToWireRatio: 0.8,
  sequentialP50Ratio: 1.1,
  p99Ratio: 1.5,
  weightedDeviationPct: 1,
  heapGrowthPct: 10,
  strategyThroughputRatio: 0.9,
  durableRatio: 10,
  authOnRatio: 0.85,
};
/** Where a full run of the strategies scenario draws its chart. */
const DEFAULT_SVG = fileURLToPath(new URL('../docs/strategies.svg', import.meta.url));

const HELP = `Usage: npm run bench -- [options]

Runs the scenarios of docs/benchmarks.md against a private redis-server (or REDIS_URL) and
prints one JSON line per scenario, then a summary line with the ratios.

Options:
  --quick                 tiny N for CI: proves the bench works, asserts no timing
  --cluster               run the cluster scenario (throughput on a local 3-master Redis Cluster,
                          started here); alone unless --scenario names others too
  --scenario NAME         ${SCENARIOS.join(', ')}; repeatable or comma-separated (default: all
                          but ${ON_REQUEST.join(', ')}, which run only when named)
  --n N                   tasks to settle, for every selected scenario
  --w W                   tasks in flight, for every selected scenario
  --repeat R              runs of baseline/throughput/latency/durable/auth, median reported (default 3,
                          quick 1)
  --concurrency C         concurrency of each echo worker (default 100, as docs/benchmarks.md says)
  --max-queue Q           maxQueue of each echo worker (default: the worker's own, = its
                          concurrency); how deep a worker's queue is sets how large frames get
  --weighted-concurrency C  concurrency of the weighted scenario's workers (default: its W,
                          so no worker is ever full and the ring alone decides)
  --strategy NAME         also run the throughput scenario with this selection strategy (repeatable
                          or comma-separated; all for every one) and report its ratio to the ring's
  --metrics               also run the throughput scenario with metrics on (the dispatcher's
                          metrics: true, workers with --metrics-port) and report on / off
  --svg PATH              where the strategies scenario draws its chart (default: docs/strategies.svg
                          on a full run, none with --quick)
  --workers-log DIR       keep the child processes' output in DIR
  --profile-workers DIR   run ringcast workers with --cpu-prof, profiles in DIR
  -h, --help              this text`;

interface Config {
  quick: boolean;
  scenarios: Set<Scenario>;
  n: number | undefined;
  w: number | undefined;
  repeat: number;
  weightedConcurrency: number | undefined;
  concurrency: number;
  maxQueue: number | undefined;
  workerNodeArgs: string[];
  workersLog: string | undefined;
  /** Strategies the throughput scenario runs besides the ring. */
  strategies: StrategyName[];
  svg: string | undefined;
  /** Whether the throughput scenario also runs with metrics on. */
  metrics: boolean;
}

/** A bad command line: reported in one line, exit code 2. */
class UsageError extends BenchError {}

function positive(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value.replaceAll('_', ''));
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer`);
  return n;
}

function nonNegative(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value.replaceAll('_', ''));
  if (!Number.isInteger(n) || n < 0) {
    throw new UsageError(`--${name} must be a non-negative integer`);
  }
  return n;
}

function parseConfig(argv: string[]): Config | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: 'boolean', short: 'h' },
      quick: { type: 'boolean' },
      cluster: { type: 'boolean' },
      scenario: { type: 'string', multiple: true },
      n: { type: 'string' },
      w: { type: 'string' },
      repeat: { type: 'string' },
      concurrency: { type: 'string' },
      'max-queue': { type: 'string' },
      'weighted-concurrency': { type: 'string' },
      strategy: { type: 'string', multiple: true },
      svg: { type: 'string' },
      metrics: { type: 'boolean' },
      'workers-log': { type: 'string' },
      'profile-workers': { type: 'string' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return undefined;
  }
  const names = (values.scenario ?? []).flatMap((s) => s.split(',')).map((s) => s.trim());
  for (const name of names) {
    if (!(SCENARIOS as readonly string[]).includes(name)) {
      throw new UsageError(`unknown scenario "${name}" (known: ${SCENARIOS.join(', ')})`);
    }
  }
  if (values.cluster) names.push('cluster');
  const quick = values.quick ?? false;
  const profile = values['profile-workers'];
  return {
    quick,
    scenarios: new Set(
      (names.length > 0 ? names : SCENARIOS.filter((s) => !ON_REQUEST.includes(s))) as Scenario[],
    ),
    n: positive('n', values.n),
    w: positive('w', values.w),
    repeat: positive('repeat', values.repeat) ?? (quick ? 1 : 3),
    weightedConcurrency: positive('weighted-concurrency', values['weighted-concurrency']),
    concurrency: positive('concurrency', values.concurrency) ?? WORKER_CONCURRENCY,
    maxQueue: nonNegative('max-queue', values['max-queue']),
    workerNodeArgs: profile
      ? ['--cpu-prof', '--cpu-prof-interval', '50', '--cpu-prof-dir', profile]
      : [],
    workersLog: values['workers-log'],
    strategies: parseStrategies(values.strategy ?? [], (message) => {
      throw new UsageError(`--strategy: ${message}`);
    }).filter((name) => name !== 'weighted-round-robin'),
    svg: values.svg ?? (quick ? undefined : DEFAULT_SVG),
    metrics: values.metrics === true,
  };
}

function size(config: Config, scenario: Scenario): { w: number; n: number } {
  const [w, n] = SIZES[scenario][config.quick ? 'quick' : 'full'];
  return { w: config.w ?? w, n: config.n ?? n };
}

/**
 * Warm-up before each measured run, so every system is measured with its code
 * optimised. At W=1000 a frame carries ~200 tasks, so 5,000 tasks ran per-frame
 * code only ~25 times per process: the first of three runs measured 20-40 %
 * slower than the next two, baseline and ringcast alike.
 */
function warmup(n: number): number {
  return Math.max(1, Math.min(20_000, Math.floor(n / 5)));
}

const VARIANT_NAMES: Record<BaselineVariant, string> = {
  single: 'one PUBLISH per task',
  batched: 'one PUBLISH per worker per tick',
  wire: "batched, in ringcast's frames, no bookkeeping",
};

const payload = (i: number) => ({ i, d: DATA });
/** The keys consistent-hash's throughput run routes by, made before the clock starts. */
const KEYS = Array.from({ length: 10_000 }, (_, k) => `key-${k}`);
const isEcho = (i: number, value: unknown) => (value as { i?: unknown } | null)?.i === i;

/** CPU µs per task are per run: the median of a sum is not a sum of medians. */
const perRun = (s: Summary) => ({
  tasksPerSec: s.tasksPerSec,
  p50: s.p50,
  p99: s.p99,
  cpuUsPerTask: s.cpuUsPerTask,
});

function emit(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function exposeGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

interface Results {
  baseline: Partial<Record<`${BaselineVariant}-${'throughput' | 'latency'}`, Summary>>;
  throughput?: Summary;
  latency?: Summary;
  weighted?: { worstDeviationPct: number; worstDeviationPts: number };
  memory?: { heapGrowthPct: number };
  /** tasks/s of the throughput scenario with each strategy, over the ring's. */
  strategyRatios?: Record<string, number>;
  /** tasks/s of the throughput scenario with metrics on, over metrics off. */
  metricsOnRatio?: number;
  strategies?: StrategiesResult;
  durable?: Record<DurableSystem, Summary & { memory: RedisMemory }>;
  /** tasks/s of the auth scenario signed, and signed and encrypted, over off. */
  auth?: { signedRatio: number; encryptedRatio: number };
  /** The cluster scenario's median run. */
  cluster?: Summary;
  /** Every run, by scenario (and baseline variant and shape), in repeat order. */
  runs: Record<string, Summary[]>;
  errors: number;
}

async function main(): Promise<number> {
  const config = parseConfig(process.argv.slice(2));
  if (!config) return 0;
  const logDir = useLogDir(config.workersLog);
  const { url, server } = await startRedis();
  const redisPids = server ? [server.pid] : [];
  const pidsOf = (children: Child[]) => children.map((c) => c.process.pid ?? -1);
  const run = randomUUID().slice(0, 8);
  process.stderr.write(
    `bench: redis ${redactUrl(url)}${server ? ` (private, pid ${server.pid})` : ' (REDIS_URL)'}, logs in ${logDir}, ${config.quick ? 'quick' : 'full'} run\n`,
  );
  const results: Results = { baseline: {}, runs: {}, errors: 0 };
  const wants = (s: Scenario) => config.scenarios.has(s);

  // ── baseline, throughput and latency: interleaved per repeat, so drift hits all alike ──
  const shapes: Array<'throughput' | 'latency'> = [];
  if (wants('throughput') || wants('baseline')) shapes.push('throughput');
  if (wants('latency') || wants('baseline')) shapes.push('latency');
  let baselineWorkers: BaselineWorkers | undefined;
  let echo: { namespace: string; ids: string[]; children: Child[] } | undefined;
  // The metrics-on run has workers of its own, started with --metrics-port.
  let echoMetrics: typeof echo;
  const startEcho = async (metrics = false) => {
    const cached = metrics ? echoMetrics : echo;
    if (cached) return cached;
    const namespace = `bench-${run}${metrics ? '-metrics' : ''}`;
    const ids = ['echo-1', 'echo-2'];
    const children = startWorkers(
      url,
      namespace,
      ids.map((id) => ({ id, concurrency: config.concurrency, maxQueue: config.maxQueue })),
      config.workerNodeArgs,
      metrics ? ['--metrics-port', '0'] : [],
    );
    const started = { namespace, ids, children };
    if (metrics) echoMetrics = started;
    else echo = started;
    return started;
  };
  if (wants('baseline')) {
    baselineWorkers = await startBaselineWorkers(url, `bench-${run}-base`, 2);
  }
  const runs = results.runs;
  const record = (key: string, summary: Summary) => {
    runs[key] ??= [];
    runs[key].push(summary);
    results.errors += summary.errors;
  };
  const extras: Record<string, unknown> = {};

  /** One measured run of `shape` through ringcast, with `strategy` (the ring when undefined). */
  const ringcastRun = async (
    shape: 'throughput' | 'latency',
    strategy: StrategyName | undefined,
    metrics = false,
  ): Promise<void> => {
    const { w, n } = size(config, shape);
    const { namespace, ids, children } = await startEcho(metrics);
    const dispatcher = await readyDispatcher(url, namespace, ids, children, {
      ...(strategy ? { strategy } : {}),
      metrics,
    });
    const label = `ringcast ${shape}${strategy ? ` ${strategy}` : ''}${metrics ? ' metrics on' : ''} W=${w}`;
    const abort = children.map((c) => c.died);
    // consistent-hash is measured on the path it is chosen for: every task with a key.
    const send =
      strategy === 'consistent-hash'
        ? (i: number) => dispatcher.dispatch('echo', payload(i), { key: KEYS[i % KEYS.length] })
        : (i: number) => dispatcher.dispatch('echo', payload(i));
    try {
      await closedLoop({ n: warmup(n), w, send, label, abort });
      const before = dispatcher.stats();
      const cpu = cpuMeter({
        bench: [process.pid],
        workers: pidsOf(children),
        redis: redisPids,
      });
      const result = await closedLoop({ n, w, send, check: isEcho, label, abort });
      if (result.firstError) process.stderr.write(`${label}: ${result.firstError}\n`);
      record(metrics ? `${shape}-metrics` : strategy ? `${shape}-${strategy}` : shape, {
        ...summarize(result),
        cpuUsPerTask: cpu(n),
      });
      const after = dispatcher.stats();
      if (!strategy && !metrics) {
        extras[shape] = {
          // As the workers advertised it, so the worker's own default when not set here.
          maxQueue: dispatcher.workers()[0]?.maxQueue,
          redelivered: after.redelivered - before.redelivered,
          staleReplies: after.staleReplies - before.staleReplies,
          invalidMessages: after.invalidMessages - before.invalidMessages,
        };
      }
    } finally {
      await closeDispatcher(dispatcher);
    }
  };

  for (let rep = 0; rep < config.repeat; rep++) {
    for (const shape of shapes) {
      const { w, n } = size(config, shape);
      if (baselineWorkers) {
        // The wire step only at throughput, last, next to the ringcast run it is compared with.
        const variants: BaselineVariant[] =
          shape === 'throughput' ? ['batched', 'single', 'wire'] : ['single', 'batched'];
        for (const variant of variants) {
          const client = await baselineClient(
            url,
            `bench-${run}-base`,
            baselineWorkers.ids,
            variant,
            payload,
          );
          const label = `baseline ${variant} W=${w}`;
          const abort = baselineWorkers.children.map((c) => c.died);
          try {
            await closedLoop({ n: warmup(n), w, send: client.send, label, abort });
            const cpu = cpuMeter({
              bench: [process.pid],
              workers: pidsOf(baselineWorkers.children),
              redis: redisPids,
            });
            const result = await closedLoop({
              n,
              w,
              send: client.send,
              check: isEcho,
              label,
              abort,
            });
            if (result.firstError) process.stderr.write(`${label}: ${result.firstError}\n`);
            record(`baseline-${variant}-${shape}`, { ...summarize(result), cpuUsPerTask: cpu(n) });
          } finally {
            await client.close();
          }
        }
      }
      if (wants(shape)) {
        await ringcastRun(shape, undefined);
        // Each strategy right after the ring, so the two see the same machine.
        if (shape === 'throughput') {
          for (const strategy of config.strategies) await ringcastRun(shape, strategy);
          if (config.metrics) await ringcastRun(shape, undefined, true);
        }
      }
    }
  }
  if (baselineWorkers) await Promise.all(baselineWorkers.children.map((c) => c.stop()));

  for (const shape of shapes) {
    for (const variant of ['single', 'batched', 'wire'] as const) {
      const list = runs[`baseline-${variant}-${shape}`];
      if (!list) continue;
      const median = medianOf(list);
      results.baseline[`${variant}-${shape}`] = median;
      emit({
        scenario: 'baseline',
        variant: VARIANT_NAMES[variant],
        shape,
        ...median,
        runs: list.map(perRun),
      });
    }
    const list = runs[shape];
    if (list) {
      const median = medianOf(list);
      results[shape] = median;
      emit({
        scenario: shape,
        system: 'ringcast',
        strategy: 'weighted-round-robin',
        workers: 2,
        concurrency: config.concurrency,
        ...median,
        runs: list.map(perRun),
        ...(extras[shape] as object),
      });
    }
  }
  if (results.throughput) {
    const ratios: Record<string, number> = {};
    for (const strategy of config.strategies) {
      const list = runs[`throughput-${strategy}`];
      if (!list) continue;
      const median = medianOf(list);
      ratios[strategy] = round(median.tasksPerSec / results.throughput.tasksPerSec, 3);
      emit({
        scenario: 'throughput',
        system: 'ringcast',
        strategy,
        workers: 2,
        concurrency: config.concurrency,
        ...median,
        runs: list.map(perRun),
        ratioToRing: ratios[strategy],
      });
    }
    if (config.strategies.length > 0) results.strategyRatios = ratios;
    const metricsRuns = runs['throughput-metrics'];
    if (metricsRuns) {
      const median = medianOf(metricsRuns);
      results.metricsOnRatio = round(median.tasksPerSec / results.throughput.tasksPerSec, 3);
      emit({
        scenario: 'throughput',
        system: 'ringcast',
        metrics: 'on',
        workers: 2,
        concurrency: config.concurrency,
        ...median,
        runs: metricsRuns.map(perRun),
        ratioToMetricsOff: results.metricsOnRatio,
      });
    }
  }

  if (wants('weighted')) await weighted(config, url, run, results);
  if (wants('memory')) {
    const { namespace, ids, children } = await startEcho();
    await memory(config, url, namespace, ids, children, results);
  }
  if (echo) await Promise.all(echo.children.map((c) => c.stop()));
  if (wants('strategies')) await strategies(config, url, run, results);
  if (wants('durable')) await durable(config, run, results);
  if (wants('auth')) await auth(config, url, run, redisPids, results);
  if (wants('scale')) await scale(config, url, run, server?.pid, results);
  if (wants('cluster')) await clusterScenario(config, run, results);

  summary(results);
  if (results.errors > 0) {
    process.stderr.write(`bench: ${results.errors} task(s) failed; see the lines above\n`);
    return 1;
  }
  return 0;
}

async function weighted(config: Config, url: string, run: string, results: Results) {
  const { w, n } = size(config, 'weighted');
  const namespace = `bench-${run}-weighted`;
  const concurrency = config.weightedConcurrency ?? w;
  const specs = WEIGHTS.map((weight, k) => ({ id: `weighted-${k + 1}`, weight, concurrency }));
  const children = startWorkers(url, namespace, specs, config.workerNodeArgs);
  const ids = specs.map((s) => s.id);
  const dispatcher = await readyDispatcher(url, namespace, ids, children);
  const counts = new Map<string, number>(ids.map((id) => [id, 0]));
  let summaryLine: Summary;
  let redelivered: number;
  try {
    const task = { ms: HANDLER_SLEEP_MS };
    const send = (_i: number) => dispatcher.dispatch('sleep', task);
    const label = `ringcast weighted W=${w}`;
    const abort = children.map((c) => c.died);
    const check = (_i: number, value: unknown) => {
      const count = counts.get(value as string);
      if (count === undefined) return false;
      counts.set(value as string, count + 1);
      return true;
    };
    await closedLoop({ n: warmup(n), w, send, label, abort });
    for (const id of ids) counts.set(id, 0);
    const before = dispatcher.stats().redelivered;
    const result = await closedLoop({ n, w, send, check, label, abort });
    if (result.firstError) process.stderr.write(`${label}: ${result.firstError}\n`);
    summaryLine = summarize(result);
    redelivered = dispatcher.stats().redelivered - before;
    results.errors += result.errors;
  } finally {
    await closeDispatcher(dispatcher);
    await Promise.all(children.map((c) => c.stop()));
  }
  const total = WEIGHTS.reduce((a, b) => a + b, 0);
  const settled = [...counts.values()].reduce((a, b) => a + b, 0);
  const workers = specs.map((spec) => {
    const count = counts.get(spec.id) ?? 0;
    const expected = spec.weight / total;
    const share = count / settled;
    return {
      id: spec.id,
      weight: spec.weight,
      count,
      expectedShare: round(expected, 5),
      share: round(share, 5),
      /** Relative to the expected share: (share / expected − 1) × 100. */
      deviationPct: round((share / expected - 1) * 100, 3),
      /** Absolute, in percentage points of all tasks. */
      deviationPts: round((share - expected) * 100, 3),
    };
  });
  const worstDeviationPct = Math.max(...workers.map((x) => Math.abs(x.deviationPct)));
  const worstDeviationPts = Math.max(...workers.map((x) => Math.abs(x.deviationPts)));
  results.weighted = { worstDeviationPct, worstDeviationPts };
  emit({
    scenario: 'weighted',
    system: 'ringcast',
    handlerSleepMs: HANDLER_SLEEP_MS,
    concurrency,
    ...summaryLine,
    redelivered,
    workers,
    worstDeviationPct,
    worstDeviationPts,
  });
}

async function strategies(config: Config, url: string, run: string, results: Results) {
  const { w, n } = size(config, 'strategies');
  process.stderr.write(`strategies W=${w} N=${n}:\n`);
  const result = await runStrategies({
    url,
    namespace: `bench-${run}-strategies`,
    w,
    n,
    warmup: warmup(n),
    concurrency: config.concurrency,
    nodeArgs: config.workerNodeArgs,
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  results.strategies = result;
  const ring = result.runs.find((r) => r.name === 'weighted-round-robin')!;
  const line = (r: StrategyRun) => ({
    strategy: r.name,
    ...r.summary,
    shares: r.shares,
    busiestShare: r.busiestShare,
    redelivered: r.redelivered,
    ratioToRing: round(r.summary.tasksPerSec / ring.summary.tasksPerSec, 3),
  });
  for (const r of [...result.runs, ...result.keyed.flatMap((k) => [k.bounded, k.unbounded])]) {
    results.errors += r.summary.errors;
  }
  const fleet = STRATEGY_FLEET;
  emit({
    scenario: 'strategies',
    system: 'ringcast',
    workers: fleet.workers.length,
    concurrency: config.concurrency,
    slow: fleet.slow,
    slowFactor: fleet.slowFactor,
    handlerMs: fleet.handlerMs,
    w,
    n,
    runs: result.runs.map(line),
    keyed: result.keyed.map((k) => ({
      keys: fleet.keys,
      zipfExponent: k.exponent,
      topKeyShare: k.topKeyShare,
      bounded: line(k.bounded),
      unbounded: line(k.unbounded),
    })),
  });
  const pctOf = (share: number) => `${round(share * 100, 1)} %`;
  const rows = [
    [
      'strategy',
      'tasks/s',
      '× ring',
      'p50 ms',
      'p99 ms',
      ...fleet.workers.map((id) => (id === fleet.slow ? `${id} (slow)` : id)),
    ],
    ...result.runs.map((r) => [
      r.name,
      String(r.summary.tasksPerSec),
      String(round(r.summary.tasksPerSec / ring.summary.tasksPerSec, 2)),
      String(r.summary.p50),
      String(r.summary.p99),
      ...fleet.workers.map((id) => pctOf(r.shares[id] ?? 0)),
    ]),
  ];
  const keyed = [
    ['consistent-hash, Zipf keys', 'top key', 'tasks/s', 'p50 ms', 'p99 ms', 'busiest worker'],
    ...result.keyed.flatMap((k) =>
      [k.bounded, k.unbounded].map((r) => [
        r.name,
        pctOf(k.topKeyShare),
        String(r.summary.tasksPerSec),
        String(r.summary.p50),
        String(r.summary.p99),
        pctOf(r.busiestShare),
      ]),
    ),
  ];
  process.stderr.write(`\n${table(rows)}\n\n${table(keyed)}\n`);
  if (config.svg) {
    const when = `${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores, Node ${process.version}`;
    const path = resolve(config.svg);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, strategiesSvg(result, w, when));
    process.stderr.write(`strategies: chart written to ${path}\n`);
  }
}

/** A fleet of 1,000 lightweight workers and 5 dispatchers: what discovery and liveness cost. */
async function scale(
  config: Config,
  url: string,
  run: string,
  redisPid: number | undefined,
  results: Results,
) {
  const shape = SCALE_SHAPES[config.quick ? 'quick' : 'full'];
  process.stderr.write(
    `scale: ${shape.workers} workers, ${shape.dispatchers} dispatchers, ${shape.windowMs} ms windows:\n`,
  );
  const result = await runScale({
    url,
    namespace: `bench-${run}-scale`,
    redisPid,
    shape,
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  const { death } = result;
  results.errors += death.lost + Object.values(death.errors).reduce((a, b) => a + b, 0);
  emit({ scenario: 'scale', system: 'ringcast', ...result });
}

/** The throughput shape with frame authentication off, signed, and signed and encrypted. */
/** The throughput workload on a local Redis Cluster (3 masters, 3 replicas), started for it. */
async function clusterScenario(config: Config, run: string, results: Results) {
  const { w, n } = size(config, 'cluster');
  process.stderr.write(`cluster W=${w} N=${n}:\n`);
  const measured = await runCluster({
    namespace: `bench-${run}-cluster`,
    w,
    n,
    warmup: warmup(n),
    repeat: config.repeat,
    concurrency: config.concurrency,
    maxQueue: config.maxQueue,
    nodeArgs: config.workerNodeArgs,
    payload,
    check: isEcho,
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  const median = medianOf(measured.runs);
  results.errors += median.errors;
  results.runs['cluster'] = measured.runs;
  results.cluster = median;
  emit({
    scenario: 'cluster',
    system: 'ringcast',
    masters: measured.masters,
    replicas: measured.replicas,
    workers: 2,
    concurrency: config.concurrency,
    ...median,
    runs: measured.runs.map(perRun),
    redelivered: measured.redelivered,
    ...(results.throughput && {
      ratioToStandalone: round(median.tasksPerSec / results.throughput.tasksPerSec, 3),
    }),
  });
}

async function auth(
  config: Config,
  url: string,
  run: string,
  redisPids: number[],
  results: Results,
) {
  const { w, n } = size(config, 'auth');
  process.stderr.write(`auth W=${w} N=${n}:\n`);
  const runs: AuthRuns = await runAuth({
    url,
    namespace: `bench-${run}-auth`,
    w,
    n,
    warmup: warmup(n),
    repeat: config.repeat,
    concurrency: config.concurrency,
    maxQueue: config.maxQueue,
    nodeArgs: config.workerNodeArgs,
    redisPids,
    payload,
    check: isEcho,
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  const medians = {} as Record<(typeof AUTH_VARIANTS)[number], Summary>;
  const lines: Record<string, unknown> = {};
  for (const variant of AUTH_VARIANTS) {
    const median = medianOf(runs[variant]);
    results.errors += median.errors;
    results.runs[`auth-${variant}`] = runs[variant];
    medians[variant] = median;
    lines[variant] = { ...median, runs: runs[variant].map(perRun) };
  }
  const signedRatio = round(medians.signed.tasksPerSec / medians.off.tasksPerSec, 3);
  const encryptedRatio = round(medians.encrypted.tasksPerSec / medians.off.tasksPerSec, 3);
  results.auth = { signedRatio, encryptedRatio };
  emit({
    scenario: 'auth',
    system: 'ringcast',
    workers: 2,
    concurrency: config.concurrency,
    w,
    n,
    mac: 'HMAC-SHA256 over channel, timestamp and frame',
    cipher: 'AES-256-GCM',
    ...lines,
    signedRatio,
    encryptedRatio,
  });
}

/**
 * Durable ringcast against BullMQ on their own private redis-server with AOF (appendfsync
 * everysec), or on REDIS_URL's as it is configured.
 */
async function durable(config: Config, run: string, results: Results) {
  const { w, n } = size(config, 'durable');
  // Loaded here: BullMQ stays out of the process (and its heap) when the scenario does not run.
  const { DURABLE_PERSISTENCE, DURABLE_REDIS_ARGS, runDurable } = await import(
    './bench/durable.js'
  );
  const { url, server } = await startRedis(DURABLE_REDIS_ARGS);
  const persistence = server ? DURABLE_PERSISTENCE : 'as REDIS_URL is configured';
  process.stderr.write(`durable W=${w} N=${n}, redis ${persistence}:\n`);
  const result = await runDurable({
    url,
    prefix: `bench-${run}-durable`,
    w,
    n,
    warmup: warmup(n),
    repeat: config.repeat,
    concurrency: config.concurrency,
    payload,
    check: isEcho,
    nodeArgs: config.workerNodeArgs,
    redisPids: server ? [server.pid] : [],
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  const line = (system: DurableSystem) => {
    const list = result.runs[system];
    const median = medianOf(list);
    results.errors += median.errors;
    return {
      ...median,
      redisCallsPerTask: list.find((r) => r.tasksPerSec === median.tasksPerSec)?.redisCallsPerTask,
      memory: result.memory[system],
      runs: list.map((r: DurableRun) => perRun(r)),
    };
  };
  const ringcast = line('ringcast');
  const bullmq = line('bullmq');
  results.durable = { ringcast, bullmq };
  emit({
    scenario: 'durable',
    redis: persistence,
    workers: 2,
    concurrency: config.concurrency,
    w,
    n,
    ringcast: { api: 'dispatch(handler, payload, { durable: true })', ...ringcast },
    bullmq: { api: 'Queue.add + QueueEvents completed', ...bullmq },
    ratio: round(ringcast.tasksPerSec / bullmq.tasksPerSec, 2),
    perRepeat: result.runs.ringcast.map((r, k) =>
      round(r.tasksPerSec / result.runs.bullmq[k]!.tasksPerSec, 2),
    ),
  });
  const rows = [
    [
      `durable, W=${w}`,
      'tasks/s',
      'p50 ms',
      'p99 ms',
      'Redis B per stored task',
      'B per finished record',
    ],
    ...(['bullmq', 'ringcast'] as const).map((system) => {
      const s = results.durable![system];
      return [
        system === 'bullmq' ? 'BullMQ' : 'ringcast',
        String(s.tasksPerSec),
        String(s.p50),
        String(s.p99),
        String(s.memory.bytesPerStoredTask),
        String(s.memory.bytesPerFinishedRecord),
      ];
    }),
  ];
  // Its redis-server stops with the other at exit (cleanup): awaiting an unreferenced child's
  // exit here would let the process end with nothing left to keep it alive.
  process.stderr.write(`\n${table(rows)}\n`);
}

async function memory(
  config: Config,
  url: string,
  namespace: string,
  ids: string[],
  children: Child[],
  results: Results,
) {
  const { w, n } = size(config, 'memory');
  const firstAt = Math.max(1, Math.floor(n / 10));
  const gc = exposeGc();
  const latencies = new Float64Array(n);
  const dispatcher: Dispatcher = await readyDispatcher(url, namespace, ids, children);
  const send = (i: number) => dispatcher.dispatch('echo', payload(i));
  const label = `ringcast memory W=${w}`;
  const abort = children.map((c) => c.died);
  const measure = (tasks: number) => {
    gc();
    gc();
    const m = process.memoryUsage();
    return { tasks, heapUsed: m.heapUsed, heapTotal: m.heapTotal, rss: m.rss };
  };
  let checkpoints: Array<ReturnType<typeof measure>>;
  let elapsedMs = 0;
  try {
    const a = await closedLoop({ n: firstAt, w, send, check: isEcho, latencies, label, abort });
    const first = measure(firstAt);
    const b = await closedLoop({
      n: n - firstAt,
      w,
      send,
      check: isEcho,
      latencies,
      first: firstAt,
      label,
      abort,
    });
    checkpoints = [first, measure(n)];
    elapsedMs = a.elapsedMs + b.elapsedMs;
    results.errors += a.errors + b.errors;
    if (a.firstError ?? b.firstError)
      process.stderr.write(`${label}: ${a.firstError ?? b.firstError}\n`);
  } finally {
    await closeDispatcher(dispatcher);
  }
  const [c1, c2] = checkpoints as [(typeof checkpoints)[0], (typeof checkpoints)[0]];
  const heapGrowthPct = round((c2.heapUsed / c1.heapUsed - 1) * 100, 2);
  results.memory = { heapGrowthPct };
  const mb = (bytes: number) => round(bytes / 1024 / 1024, 2);
  emit({
    scenario: 'memory',
    system: 'ringcast',
    w,
    n,
    tasksPerSec: round((n / elapsedMs) * 1000, 0),
    checkpoints: checkpoints.map((c) => ({
      tasks: c.tasks,
      heapUsedMB: mb(c.heapUsed),
      heapTotalMB: mb(c.heapTotal),
      rssMB: mb(c.rss),
    })),
    heapGrowthPct,
    rssGrowthPct: round((c2.rss / c1.rss - 1) * 100, 2),
  });
}

function summary(results: Results): void {
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? null : round(a / b, 3);
  const r = results;
  const batchedT = r.baseline['batched-throughput'];
  const singleT = r.baseline['single-throughput'];
  const singleL = r.baseline['single-latency'];
  const batchedL = r.baseline['batched-latency'];
  const wireT = r.baseline['wire-throughput'];
  // The same ratio within each repeat, whose runs were measured back to back: the
  // machine's speed drifts between repeats, and these show how far.
  const paired = (ours: string, floor: string, pick: (s: Summary) => number) => {
    const a = r.runs[ours] ?? [];
    const b = r.runs[floor] ?? [];
    return a.slice(0, b.length).map((s, k) => round(pick(s) / pick(b[k]!), 3));
  };
  const line = {
    summary: true,
    throughputRatio: ratio(r.throughput?.tasksPerSec, batchedT?.tasksPerSec),
    sequentialP50Ratio: ratio(r.latency?.p50, singleL?.p50),
    p99Ratio: ratio(r.throughput?.p99, batchedT?.p99),
    weightedWorstDeviationPct: r.weighted?.worstDeviationPct ?? null,
    heapGrowthPct: r.memory?.heapGrowthPct ?? null,
    // tasks/s of the throughput scenario with each --strategy, over the ring's.
    strategyThroughputRatios: r.strategyRatios ?? null,
    strategiesWorstRatio: r.strategyRatios ? Math.min(...Object.values(r.strategyRatios)) : null,
    // Durable ringcast tasks/s over BullMQ's, in the same run on the same Redis.
    durableRatio: ratio(r.durable?.ringcast.tasksPerSec, r.durable?.bullmq.tasksPerSec),
    // tasks/s with metrics on (both sides), over metrics off; target ≥ 0.95.
    metricsOnRatio: r.metricsOnRatio ?? null,
    // The throughput workload on a local 3-master cluster: tasks/s, and over standalone's.
    clusterTasksPerSec: r.cluster ? Math.round(r.cluster.tasksPerSec) : null,
    clusterToStandaloneRatio: ratio(r.cluster?.tasksPerSec, r.throughput?.tasksPerSec),
    // tasks/s with frame authentication on (both sides), over off; target ≥ 0.85.
    authOnRatio: r.auth?.signedRatio ?? null,
    // tasks/s with frames signed and encrypted, over off; reported.
    authEncryptedRatio: r.auth?.encryptedRatio ?? null,
    // Where the throughput gap lies: the floor speaking ringcast's frames against
    // the floor (the wire format and its validation), and ringcast against that
    // (everything ringcast keeps per task and attempt).
    wireRatio: ratio(wireT?.tasksPerSec, batchedT?.tasksPerSec),
    ringcastToWireRatio: ratio(r.throughput?.tasksPerSec, wireT?.tasksPerSec),
    perRepeat: {
      throughputRatio: paired('throughput', 'baseline-batched-throughput', (s) => s.tasksPerSec),
      sequentialP50Ratio: paired('latency', 'baseline-single-latency', (s) => s.p50),
      p99Ratio: paired('throughput', 'baseline-batched-throughput', (s) => s.p99),
      wireRatio: paired(
        'baseline-wire-throughput',
        'baseline-batched-throughput',
        (s) => s.tasksPerSec,
      ),
      ringcastToWireRatio: paired('throughput', 'baseline-wire-throughput', (s) => s.tasksPerSec),
      metricsOnRatio: paired('throughput-metrics', 'throughput', (s) => s.tasksPerSec),
      authOnRatio: paired('auth-signed', 'auth-off', (s) => s.tasksPerSec),
      authEncryptedRatio: paired('auth-encrypted', 'auth-off', (s) => s.tasksPerSec),
      ...Object.fromEntries(
        Object.keys(r.strategyRatios ?? {}).map((name) => [
          `${name}/ring`,
          paired(`throughput-${name}`, 'throughput', (s) => s.tasksPerSec),
        ]),
      ),
    },
    targets: TARGETS,
    errors: r.errors,
  };
  emit(line);

  const ok = (value: number | null, target: number, higherIsBetter = false) =>
    value === null
      ? '—'
      : (higherIsBetter ? value >= target : Math.abs(value) <= target)
        ? 'yes'
        : 'NO';
  const fmt = (v: number | undefined, digits = 3) =>
    v === undefined ? '—' : String(round(v, digits));
  const rows: string[][] = [
    ['system', 'W', 'N', 'tasks/s', 'p50 ms', 'p99 ms'],
    ...(
      [
        ['baseline, batched per tick', batchedT],
        ['baseline, one PUBLISH per task', singleT],
        ["batched in ringcast's frames", wireT],
        ['ringcast', r.throughput],
        ['baseline, one PUBLISH per task', singleL],
        ['baseline, batched per tick', batchedL],
        ['ringcast', r.latency],
        ['BullMQ, add + completed event (AOF)', r.durable?.bullmq],
        ['ringcast durable (AOF)', r.durable?.ringcast],
        ['ringcast on a cluster (3 masters, 3 replicas)', r.cluster],
      ] as Array<[string, Summary | undefined]>
    )
      .filter(([, s]) => s !== undefined)
      .map(([name, s]) => [
        name,
        String(s!.w),
        String(s!.n),
        fmt(s!.tasksPerSec, 0),
        fmt(s!.p50),
        fmt(s!.p99),
      ]),
  ];
  const targets: string[][] = [
    ['ratio', 'measured', 'target', 'met'],
    [
      'throughput / batched baseline',
      String(line.throughputRatio ?? '—'),
      `≥ ${TARGETS.throughputRatio}`,
      ok(line.throughputRatio, TARGETS.throughputRatio, true),
    ],
    ["  of it: ringcast's frames / batched", String(line.wireRatio ?? '—'), '', ''],
    [
      "  of it: ringcast / ringcast's frames",
      String(line.ringcastToWireRatio ?? '—'),
      `≥ ${TARGETS.ringcastToWireRatio}`,
      ok(line.ringcastToWireRatio, TARGETS.ringcastToWireRatio, true),
    ],
    [
      'sequential p50 / one-PUBLISH p50',
      String(line.sequentialP50Ratio ?? '—'),
      `≤ ${TARGETS.sequentialP50Ratio}`,
      ok(line.sequentialP50Ratio, TARGETS.sequentialP50Ratio),
    ],
    [
      'p99 W=1000 / batched p99',
      String(line.p99Ratio ?? '—'),
      `≤ ${TARGETS.p99Ratio}`,
      ok(line.p99Ratio, TARGETS.p99Ratio),
    ],
    [
      'weighted worst deviation %',
      String(line.weightedWorstDeviationPct ?? '—'),
      `± ${TARGETS.weightedDeviationPct}`,
      ok(line.weightedWorstDeviationPct, TARGETS.weightedDeviationPct),
    ],
    [
      'worst strategy / ring, throughput',
      String(line.strategiesWorstRatio ?? '—'),
      `≥ ${TARGETS.strategyThroughputRatio}`,
      ok(line.strategiesWorstRatio, TARGETS.strategyThroughputRatio, true),
    ],
    [
      'durable ringcast / BullMQ, tasks/s',
      String(line.durableRatio ?? '—'),
      `≥ ${TARGETS.durableRatio}`,
      ok(line.durableRatio, TARGETS.durableRatio, true),
    ],
    [
      'throughput metrics on / off',
      String(line.metricsOnRatio ?? '—'),
      `≥ ${TARGETS.metricsOnRatio}`,
      ok(line.metricsOnRatio, TARGETS.metricsOnRatio, true),
    ],
    [
      'throughput frame auth on / off',
      String(line.authOnRatio ?? '—'),
      `≥ ${TARGETS.authOnRatio}`,
      ok(line.authOnRatio, TARGETS.authOnRatio, true),
    ],
    ['  with encryption / off', String(line.authEncryptedRatio ?? '—'), '', ''],
    ['cluster (3 masters) tasks/s', String(line.clusterTasksPerSec ?? '—'), '', ''],
    ['  cluster / standalone throughput', String(line.clusterToStandaloneRatio ?? '—'), '', ''],
    [
      'heap growth 100k → 1M %',
      String(line.heapGrowthPct ?? '—'),
      `≤ ${TARGETS.heapGrowthPct}`,
      ok(line.heapGrowthPct, TARGETS.heapGrowthPct),
    ],
  ];
  process.stderr.write(`\n${table(rows)}\n\n${table(targets)}\n`);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const line = (row: string[]) =>
    `| ${row.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  return [
    line(rows[0]!),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.slice(1).map(line),
  ].join('\n');
}

// ── entry: every path out cleans up; nothing waits forever ──
let exiting = false;
async function exit(code: number): Promise<never> {
  if (!exiting) {
    exiting = true;
    await cleanup(code !== 0);
  }
  process.exit(code);
}

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.once(signal, () => {
    process.stderr.write(`bench: ${signal}, cleaning up\n`);
    void exit(code);
  });
}
setTimeout(() => {
  process.stderr.write(`bench: gave up after ${GLOBAL_TIMEOUT_MS / 60_000} minutes\n`);
  void exit(1);
}, GLOBAL_TIMEOUT_MS).unref();

main().then(
  (code) => exit(code),
  (error: unknown) => {
    if (
      error instanceof UsageError ||
      String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')
    ) {
      process.stderr.write(`bench: ${(error as Error).message} (see --help)\n`);
      return exit(2);
    }
    const known = error instanceof BenchError || !(error instanceof Error);
    process.stderr.write(
      `bench: ${known ? (error instanceof Error ? error.message : String(error)) : (error.stack ?? error.message)}\n`,
    );
    return exit(1);
  },
);
