/**
 * The fleet's rates over the last interval, for the history charts: tasks and
 * errors per second, the handlers' execution time percentiles of the runs in
 * that interval, and the end-to-end latency percentiles of the calls settled
 * in it (not since the processes started, which would flatten any change).
 * Workers and dispatchers publish cumulative counts and histograms about once
 * a second while they have something new; the difference between a process's
 * two latest reports is what it ran or settled between them, and those
 * differences are summed (rates) or merged (histograms): over the workers for
 * execution, over the dispatchers for latency.
 */
import {
  bucketLow,
  DurationHistogram,
  HISTOGRAM_BUCKETS,
  type HistogramSnapshot,
  type StatsReport,
} from '@ringcast/protocol';
import type { ClusterView } from '../cluster-view.js';
import type { HistorySample } from './wire.js';

/**
 * A process writes its report about once a second while it runs or settles
 * tasks; one whose latest report is older than this did nothing since it.
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

/** What the reports of one kind of process say about the last interval. */
interface Interval {
  perSecond: number;
  failedPerSecond: number;
  /** The interval's runs or calls; empty when there were none. */
  recent: DurationHistogram;
}

/** The latest two readings of each process of one kind, by incarnation: a restarted process starts over. */
class Readings {
  readonly #pairs = new Map<string, { latest: Reading; older: Reading | undefined }>();

  /** Takes `reports` in; what they say happened between each one's two latest, as of `now`. */
  interval(reports: Iterable<StatsReport>, now: number): Interval {
    const result: Interval = { perSecond: 0, failedPerSecond: 0, recent: new DurationHistogram() };
    const seen = new Set<string>();
    for (const report of reports) {
      seen.add(report.incarnation);
      const { latest, older } = this.#advance(report);
      if (older === undefined || now - latest.at > IDLE_AFTER_MS) continue;
      const seconds = (latest.at - older.at) / 1000;
      result.perSecond += Math.max(0, latest.runs - older.runs) / seconds;
      result.failedPerSecond += Math.max(0, latest.failed - older.failed) / seconds;
      const delta = difference(latest, older);
      if (delta !== undefined) result.recent.merge(delta);
    }
    for (const incarnation of this.#pairs.keys()) {
      if (!seen.has(incarnation)) this.#pairs.delete(incarnation);
    }
    return result;
  }

  /** Records `report` if it is newer than its process's latest; returns the process's two latest. */
  #advance(report: StatsReport): { latest: Reading; older: Reading | undefined } {
    const pair = this.#pairs.get(report.incarnation);
    if (pair === undefined) {
      const fresh = { latest: readingOf(report), older: undefined };
      this.#pairs.set(report.incarnation, fresh);
      return fresh;
    }
    if (report.at > pair.latest.at) {
      pair.older = pair.latest;
      pair.latest = readingOf(report);
    }
    return pair;
  }
}

export class FleetRates {
  readonly #workers = new Readings();
  readonly #dispatchers = new Readings();

  /** The fleet's rates as of `view`, read at `now`. */
  sample(view: ClusterView, now: number): HistorySample {
    const workerReports = view.workers.flatMap(({ report }) => (report ? [report] : []));
    const execution = this.#workers.interval(workerReports, now);
    const latency = this.#dispatchers.interval(
      view.dispatchers.map(({ report }) => report),
      now,
    );
    const [executionP50Ms, executionP99Ms] = p50p99(execution.recent);
    const [latencyP50Ms, latencyP99Ms] = p50p99(latency.recent);
    return {
      at: now,
      tasksPerSecond: execution.perSecond,
      errorsPerSecond: execution.failedPerSecond,
      executionP50Ms,
      executionP99Ms,
      latencyP50Ms,
      latencyP99Ms,
    };
  }
}

/** The median and 99th percentile of an interval; nulls for an empty one. */
function p50p99(recent: DurationHistogram): [number | null, number | null] {
  return recent.count === 0 ? [null, null] : [recent.quantile(0.5), recent.quantile(0.99)];
}

function readingOf(report: StatsReport): Reading {
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
