/**
 * The fleet's rates over the last interval, for the history charts: tasks and
 * errors per second and the handlers' execution time percentiles of the runs
 * in that interval (not since the workers started, which would flatten any
 * change). Workers publish cumulative counts and histograms about once a
 * second; the difference between a worker's two latest reports is what it ran
 * between them, and those differences are summed (rates) or merged
 * (histograms) over the fleet.
 */
import {
  bucketLow,
  DurationHistogram,
  HISTOGRAM_BUCKETS,
  type HistogramSnapshot,
  type WorkerReport,
} from '@ringcast/protocol';
import type { ClusterView } from '../cluster-view.js';
import type { HistorySample } from './wire.js';

/**
 * A worker writes its report about once a second while it runs tasks; one
 * whose latest report is older than this ran nothing since it.
 */
export const IDLE_AFTER_MS = 2_500;

/** What one report says in total, over its handlers. */
interface Reading {
  at: number;
  runs: number;
  failed: number;
  /** Per histogram bucket, the runs of every handler. */
  counts: Float64Array;
  sumMicros: number;
  maxMicros: number;
}

export class FleetRates {
  /** By worker incarnation: a restarted worker starts over. */
  readonly #readings = new Map<string, { latest: Reading; older: Reading | undefined }>();

  /** The fleet's rates as of `view`, read at `now`. */
  sample(view: ClusterView, now: number): HistorySample {
    let tasksPerSecond = 0;
    let errorsPerSecond = 0;
    const recent = new DurationHistogram();
    const seen = new Set<string>();
    for (const { report } of view.workers) {
      if (report === undefined) continue;
      seen.add(report.incarnation);
      const pair = this.#advance(report);
      const { latest, older } = pair;
      if (older === undefined || now - latest.at > IDLE_AFTER_MS) continue;
      const seconds = (latest.at - older.at) / 1000;
      tasksPerSecond += Math.max(0, latest.runs - older.runs) / seconds;
      errorsPerSecond += Math.max(0, latest.failed - older.failed) / seconds;
      const delta = difference(latest, older);
      if (delta !== undefined) recent.merge(delta);
    }
    for (const incarnation of this.#readings.keys()) {
      if (!seen.has(incarnation)) this.#readings.delete(incarnation);
    }
    const ran = recent.count > 0;
    return {
      at: now,
      tasksPerSecond,
      errorsPerSecond,
      executionP50Ms: ran ? recent.quantile(0.5) : null,
      executionP99Ms: ran ? recent.quantile(0.99) : null,
    };
  }

  /** Records `report` if it is newer than the worker's latest; returns the worker's two latest. */
  #advance(report: WorkerReport): { latest: Reading; older: Reading | undefined } {
    const pair = this.#readings.get(report.incarnation);
    if (pair === undefined) {
      const fresh = { latest: readingOf(report), older: undefined };
      this.#readings.set(report.incarnation, fresh);
      return fresh;
    }
    if (report.at > pair.latest.at) {
      pair.older = pair.latest;
      pair.latest = readingOf(report);
    }
    return pair;
  }
}

function readingOf(report: WorkerReport): Reading {
  const counts = new Float64Array(HISTOGRAM_BUCKETS);
  let runs = 0;
  let failed = 0;
  let sumMicros = 0;
  let maxMicros = 0;
  for (const summary of Object.values(report.handlers)) {
    const failures = Object.values(summary.failed).reduce((a, b) => a + b, 0);
    runs += summary.succeeded + failures;
    failed += failures;
  }
  for (const snapshot of Object.values(report.histograms ?? {})) {
    const { buckets } = snapshot;
    for (let i = 0; i < buckets.length; i += 2) counts[buckets[i]!]! += buckets[i + 1]!;
    sumMicros += snapshot.sumMicros;
    maxMicros = Math.max(maxMicros, snapshot.maxMicros);
  }
  return { at: report.at, runs, failed, counts, sumMicros, maxMicros };
}

/**
 * The runs between two readings as a histogram snapshot; undefined for none.
 * Its bounds are those of its outermost buckets (the exact ones are not
 * known for a difference), the top one capped by the newer maximum.
 */
function difference(newer: Reading, older: Reading): HistogramSnapshot | undefined {
  const buckets: number[] = [];
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
    const n = newer.counts[i]! - older.counts[i]!;
    if (n > 0) buckets.push(i, n);
  }
  if (buckets.length === 0) return undefined;
  const first = buckets[0]!;
  const last = buckets[buckets.length - 2]!;
  const maxMicros = Math.min(newer.maxMicros, Math.max(bucketLow(last + 1) - 1, bucketLow(last)));
  return {
    buckets,
    sumMicros: Math.max(0, newer.sumMicros - older.sumMicros),
    minMicros: Math.min(bucketLow(first), maxMicros),
    maxMicros,
  };
}
