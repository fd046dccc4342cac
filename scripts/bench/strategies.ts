// The strategies scenario: what each selection strategy is for. Four workers, one of them five
// times slower (its handler sleeps five times as long), W tasks in flight; then a keyed run with
// Zipf-distributed keys for consistent-hash, with its load bound and without.
import { type DispatcherOptions, STRATEGY_NAMES, type StrategyName } from '@ringcast/dispatcher';
import type { Child } from './harness.js';
import { closedLoop, round, type Summary, summarize } from './loop.js';
import { closeDispatcher, readyDispatcher, startWorkers } from './ringcast.js';

export const STRATEGY_FLEET = {
  workers: ['strat-1', 'strat-2', 'strat-3', 'strat-4'],
  /** The slow one. */
  slow: 'strat-4',
  slowFactor: 5,
  /** What the fast workers' handler sleeps per task; long enough that sleeping, not CPU, sets the pace. */
  handlerMs: 10,
  /**
   * Distinct keys of the keyed runs, and the Zipf exponents of their popularity: s = 1 is the
   * classic skew of web objects (the top key ~10 % of tasks); s = 1.5 has a few very hot keys
   * (the top one ~38 %), more than any one worker's fair share.
   */
  keys: 10_000,
  zipfExponents: [1, 1.5],
} as const;

export interface StrategyRun {
  /** The strategy, or for the keyed runs `consistent-hash` with or without its bound. */
  name: string;
  summary: Summary;
  /** Share of the measured tasks each worker ran. */
  shares: Record<string, number>;
  busiestShare: number;
  redelivered: number;
}

export interface KeyedRuns {
  /** The Zipf exponent of the keys' popularity. */
  exponent: number;
  /** Share of all tasks that carried the most popular key. */
  topKeyShare: number;
  bounded: StrategyRun;
  unbounded: StrategyRun;
}

export interface StrategiesResult {
  runs: StrategyRun[];
  keyed: KeyedRuns[];
}

interface Options {
  url: string;
  namespace: string;
  w: number;
  n: number;
  warmup: number;
  concurrency: number;
  nodeArgs: string[];
  /** Called as each run ends, for progress on stderr. */
  progress(line: string): void;
}

/** uniform numbers in [0, 1) from a seed (mulberry32): the same key sequence in every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` keys drawn from `keys` distinct ones with Zipf(s) popularity: key k has weight 1/k^s. */
export function zipfKeys(count: number, keys: number, s: number, seed = 15): string[] {
  const cumulative = new Float64Array(keys);
  let total = 0;
  for (let k = 0; k < keys; k++) {
    total += 1 / (k + 1) ** s;
    cumulative[k] = total;
  }
  const random = seeded(seed);
  const out = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    const u = random() * total;
    let lo = 0;
    let hi = keys - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    out[i] = `key-${lo}`;
  }
  return out;
}

export async function runStrategies(options: Options): Promise<StrategiesResult> {
  const { url, namespace, w, n, warmup } = options;
  const fleet = STRATEGY_FLEET;
  const ids: string[] = [...fleet.workers];
  const children: Child[] = startWorkers(
    url,
    namespace,
    ids.map((id) => ({ id, concurrency: options.concurrency })),
    options.nodeArgs,
  );
  const abort = children.map((c) => c.died);
  // Uniform keys for consistent-hash in the main table; Zipf keys for the keyed runs.
  const uniform = Array.from({ length: fleet.keys }, (_, k) => `key-${k}`);

  const measure = async (
    name: string,
    dispatcherOptions: Pick<DispatcherOptions, 'strategy' | 'hashLoadEpsilon'>,
    payload: { ms: number; slow?: string; factor?: number },
    keyOf: ((i: number) => string) | undefined,
  ): Promise<StrategyRun> => {
    const dispatcher = await readyDispatcher(url, namespace, ids, children, dispatcherOptions);
    const counts = new Map<string, number>(ids.map((id) => [id, 0]));
    try {
      const send = keyOf
        ? (i: number) => dispatcher.dispatch('paced', payload, { key: keyOf(i) })
        : (_i: number) => dispatcher.dispatch('paced', payload);
      const check = (_i: number, value: unknown) => {
        const count = counts.get(value as string);
        if (count === undefined) return false;
        counts.set(value as string, count + 1);
        return true;
      };
      const label = `ringcast strategies ${name} W=${w}`;
      // The warm-up also lets the latency strategy learn the round trips it weighs by.
      await closedLoop({ n: warmup, w, send, label, abort });
      for (const id of ids) counts.set(id, 0);
      const before = dispatcher.stats().redelivered;
      const result = await closedLoop({ n, w, send, check, first: warmup, label, abort });
      if (result.firstError) options.progress(`${label}: ${result.firstError}`);
      const summary = summarize(result);
      const settled = [...counts.values()].reduce((a, b) => a + b, 0) || 1;
      const shares = Object.fromEntries(
        ids.map((id) => [id, round((counts.get(id) ?? 0) / settled, 4)]),
      );
      const run: StrategyRun = {
        name,
        summary,
        shares,
        busiestShare: Math.max(...Object.values(shares)),
        redelivered: dispatcher.stats().redelivered - before,
      };
      options.progress(
        `  ${name.padEnd(26)} ${String(summary.tasksPerSec).padStart(7)} tasks/s  p50 ${summary.p50} ms  p99 ${summary.p99} ms  shares ${ids.map((id) => `${Math.round(shares[id]! * 1000) / 10}%`).join(' / ')}`,
      );
      return run;
    } finally {
      await closeDispatcher(dispatcher);
    }
  };

  try {
    const slowFleet = { ms: fleet.handlerMs, slow: fleet.slow, factor: fleet.slowFactor };
    const runs: StrategyRun[] = [];
    for (const strategy of STRATEGY_NAMES) {
      const keyOf =
        strategy === 'consistent-hash' ? (i: number) => uniform[i % uniform.length]! : undefined;
      runs.push(await measure(strategy, { strategy }, slowFleet, keyOf));
    }
    // The keyed runs: every worker equally fast, so the busiest share shows the keys' skew alone.
    const even = { ms: fleet.handlerMs };
    const keyed: KeyedRuns[] = [];
    for (const exponent of fleet.zipfExponents) {
      const zipf = zipfKeys(warmup + n, fleet.keys, exponent);
      const keyOf = (i: number) => zipf[i]!;
      const measured = zipf.slice(warmup);
      const topKeyShare = round(measured.filter((k) => k === 'key-0').length / measured.length, 4);
      const bounded = await measure(
        `consistent-hash, s = ${exponent}, bounded`,
        { strategy: 'consistent-hash' },
        even,
        keyOf,
      );
      const unbounded = await measure(
        `consistent-hash, s = ${exponent}, no bound`,
        { strategy: 'consistent-hash', hashLoadEpsilon: false },
        even,
        keyOf,
      );
      keyed.push({ exponent, topKeyShare, bounded, unbounded });
    }
    return { runs, keyed };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
  }
}

/** The strategy names the throughput scenario accepts for `--strategy`, `all` for every one. */
export function parseStrategies(
  values: readonly string[],
  fail: (message: string) => never,
): StrategyName[] {
  const names = values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  if (names.includes('all')) return [...STRATEGY_NAMES];
  const known = STRATEGY_NAMES as readonly string[];
  const unknown = names.find((name) => !known.includes(name));
  if (unknown !== undefined) {
    fail(`unknown strategy "${unknown}" (known: ${STRATEGY_NAMES.join(', ')}, or all)`);
  }
  return [...new Set(names)] as StrategyName[];
}
