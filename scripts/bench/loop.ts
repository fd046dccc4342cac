// The closed loop every system is measured with, and the numbers taken from it.
import { performance } from 'node:perf_hooks';
import { BenchError } from './harness.js';

/** Sends task `i`; settles when its outcome is back. */
export type Send = (i: number) => Promise<unknown>;

export interface LoopOptions {
  /** Tasks to settle. */
  n: number;
  /** Tasks kept in flight. */
  w: number;
  send: Send;
  /** Index of the first task; `latencies[first + k]` holds task k's latency. */
  first?: number;
  /** Preallocated, at least `first + n` long; allocated here when absent. */
  latencies?: Float64Array;
  /** Returns false when a result is wrong; counted as an error. */
  check?: (i: number, value: unknown) => boolean;
  /** Fail when nothing settled for this long. @defaultValue 20000 */
  stallMs?: number;
  /** Rejecting promises that abort the run (a child process died). */
  abort?: Array<Promise<never>>;
  label: string;
}

export interface LoopResult {
  n: number;
  w: number;
  elapsedMs: number;
  tasksPerSec: number;
  errors: number;
  firstError: string | undefined;
  /** Latencies of this run's tasks, in ms (a view on the preallocated array). */
  latencies: Float64Array;
}

/** Keeps `w` tasks in flight until `n` have settled; latency is from send to settlement. */
export async function closedLoop(options: LoopOptions): Promise<LoopResult> {
  const { n, w, send, check, label } = options;
  const first = options.first ?? 0;
  const latencies = options.latencies ?? new Float64Array(first + n);
  if (latencies.length < first + n) throw new BenchError(`${label}: latency array too short`);
  const stallMs = options.stallMs ?? 20_000;
  let next = 0;
  let settled = 0;
  let errors = 0;
  let firstError: string | undefined;

  const lane = async (): Promise<void> => {
    for (let k = next++; k < n; k = next++) {
      const i = first + k;
      const t0 = performance.now();
      try {
        const value = await send(i);
        if (check && !check(i, value)) {
          errors++;
          firstError ??= `task ${i}: unexpected result ${JSON.stringify(value)?.slice(0, 200)}`;
        }
      } catch (error) {
        errors++;
        firstError ??= `task ${i}: ${String(error)}`;
      }
      latencies[i] = performance.now() - t0;
      settled++;
    }
  };

  let watchdog: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    let seen = -1;
    let since = performance.now();
    watchdog = setInterval(() => {
      const now = performance.now();
      if (settled !== seen) {
        seen = settled;
        since = now;
      } else if (now - since > stallMs) {
        reject(
          new BenchError(
            `${label}: no task settled for ${stallMs} ms (${settled} of ${n} settled, ${errors} errors${firstError ? `; first: ${firstError}` : ''})`,
          ),
        );
      }
    }, 250);
  });

  const start = performance.now();
  try {
    const lanes: Array<Promise<void>> = [];
    for (let l = 0; l < Math.min(w, n); l++) lanes.push(lane());
    await Promise.race([Promise.all(lanes), stalled, ...(options.abort ?? [])]);
  } finally {
    clearInterval(watchdog);
  }
  const elapsedMs = performance.now() - start;
  return {
    n,
    w,
    elapsedMs,
    tasksPerSec: (n / elapsedMs) * 1000,
    errors,
    firstError,
    latencies: latencies.subarray(first, first + n),
  };
}

export interface Summary {
  n: number;
  w: number;
  tasksPerSec: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  errors: number;
  /** CPU time per task of each group of processes (bench, workers, redis), when measured. */
  cpuUsPerTask?: Record<string, number>;
}

/** Nearest-rank percentile of ascending `sorted`. */
function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

export function summarize(result: LoopResult): Summary {
  const sorted = Float64Array.from(result.latencies).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    n: result.n,
    w: result.w,
    tasksPerSec: round(result.tasksPerSec, 0),
    p50: round(percentile(sorted, 0.5), 3),
    p90: round(percentile(sorted, 0.9), 3),
    p99: round(percentile(sorted, 0.99), 3),
    max: round(sorted[sorted.length - 1] ?? Number.NaN, 3),
    mean: round(sum / sorted.length, 3),
    errors: result.errors,
  };
}

/** Per-field median of several runs (as docs/benchmarks.md's "medians of 3"). */
export function medianOf(runs: Summary[]): Summary {
  const med = (pick: (s: Summary) => number): number => {
    const values = runs.map(pick).sort((a, b) => a - b);
    return values[Math.floor((values.length - 1) / 2)]!;
  };
  const first = runs[0]!;
  const tasksPerSec = med((s) => s.tasksPerSec);
  const cpu = runs.find((s) => s.tasksPerSec === tasksPerSec)?.cpuUsPerTask;
  return {
    n: first.n,
    w: first.w,
    tasksPerSec,
    p50: med((s) => s.p50),
    p90: med((s) => s.p90),
    p99: med((s) => s.p99),
    max: med((s) => s.max),
    mean: med((s) => s.mean),
    errors: runs.reduce((a, s) => a + s.errors, 0),
    // CPU of the run with the median throughput: a median of sums is not a sum of medians.
    ...(cpu ? { cpuUsPerTask: cpu } : {}),
  };
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
