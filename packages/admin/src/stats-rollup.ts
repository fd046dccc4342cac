/**
 * Handler statistics summed over several sources: per handler over every
 * worker (execution times) or every dispatcher (end-to-end latency), or per
 * worker over its handlers. Counts, failures by code,
 * redeliveries and throughput add up. Percentiles do not: the fleet's p99 is
 * no average of the workers' p99s, so the histograms behind them are merged
 * (protocol `HistogramSnapshot`) and the percentiles read off the merged one.
 * `avg` and `max` are exact from the summaries alone.
 */
import {
  DurationHistogram,
  type HandlerSummary,
  type HistogramSnapshot,
  type StatsReport,
} from '@ringcast/protocol';

/** One source's figures for a handler: a worker's summary, and the histogram behind it if it sent one. */
export interface StatsPart {
  summary: HandlerSummary;
  histogram: HistogramSnapshot | undefined;
}

/** Several sources' figures as one. */
export interface StatsRollup extends HandlerSummary {
  /** How many sources it sums. */
  sources: number;
  /**
   * Sources with runs but no histogram (a worker older than the histograms in
   * its report): their runs count in `duration.count`, `avg` and `max`, not in
   * the percentiles.
   */
  withoutHistogram: number;
}

/** The sum of `parts`; zeros for none. */
export function rollUp(parts: readonly StatsPart[]): StatsRollup {
  const merged = new DurationHistogram();
  const failed: Record<string, number> = Object.create(null);
  const rollup: StatsRollup = {
    succeeded: 0,
    failed,
    redelivered: 0,
    throughput: { lastSecond: 0, lastMinute: 0 },
    duration: { count: 0, p50: 0, p90: 0, p99: 0, max: 0, avg: 0 },
    sources: parts.length,
    withoutHistogram: 0,
  };
  let count = 0;
  let total = 0;
  let max = 0;
  for (const { summary, histogram } of parts) {
    rollup.succeeded += summary.succeeded;
    rollup.redelivered += summary.redelivered;
    for (const [code, n] of Object.entries(summary.failed)) failed[code] = (failed[code] ?? 0) + n;
    rollup.throughput.lastSecond += summary.throughput.lastSecond;
    rollup.throughput.lastMinute += summary.throughput.lastMinute;
    const { duration } = summary;
    count += duration.count;
    total += duration.avg * duration.count;
    max = Math.max(max, duration.max);
    if (histogram !== undefined) merged.merge(histogram);
    else if (duration.count > 0) rollup.withoutHistogram++;
  }
  const { p50, p90, p99 } = merged.summary();
  rollup.duration = { count, p50, p90, p99, max, avg: count === 0 ? 0 : total / count };
  return rollup;
}

/** A worker's or a dispatcher's figures for each of its handlers. */
export function partsOf(report: StatsReport): Map<string, StatsPart> {
  const parts = new Map<string, StatsPart>();
  for (const [handler, summary] of Object.entries(report.handlers)) {
    parts.set(handler, { summary, histogram: report.histograms?.[handler] });
  }
  return parts;
}

/** Per handler, the sum over every report that has it; handlers by name. */
export function rollUpByHandler(reports: readonly StatsReport[]): Map<string, StatsRollup> {
  const byHandler = new Map<string, StatsPart[]>();
  for (const report of reports) {
    for (const [handler, part] of partsOf(report)) {
      const list = byHandler.get(handler);
      if (list === undefined) byHandler.set(handler, [part]);
      else list.push(part);
    }
  }
  const names = [...byHandler.keys()].sort();
  return new Map(names.map((name) => [name, rollUp(byHandler.get(name)!)]));
}

/** One worker's handlers summed: its whole load. */
export function rollUpWorker(report: StatsReport): StatsRollup {
  return rollUp([...partsOf(report).values()]);
}
