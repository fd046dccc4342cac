/**
 * What a process publishes to Redis about its handlers, for any dispatcher or
 * tool to read: per handler its {@link HandlerSummary} and the histogram
 * behind its durations, as JSON. One format on both sides:
 *
 * - a worker's {@link WorkerReport} under `names().workerStatsKey(id)`:
 *   durations are its handlers' execution times;
 * - a dispatcher's {@link DispatcherReport} under
 *   `names().dispatcherStatsKey(id)`: durations are end-to-end latency,
 *   `dispatch()` to settlement.
 *
 * {@link parseStatsReport} checks what it reads: the writer may be of another
 * version, or not ringcast at all.
 */
import type { HandlerSummary } from './handler-stats.js';
import { type HistogramSnapshot, parseHistogramSnapshot } from './histogram.js';

/** The fields every stats report has. */
export interface StatsReport {
  /** The process that wrote it: a restarted process under the same id starts its counts over. */
  incarnation: string;
  /** When it was written (epoch ms, by the writer's clock); its figures are as of then. */
  at: number;
  /** Per handler since the process started. */
  handlers: Record<string, HandlerSummary>;
  /**
   * Per handler, the histogram behind `handlers[name].duration`, so that a tool
   * can merge several processes' and take the percentiles of the whole.
   * Absent from workers that predate it.
   */
  histograms?: Record<string, HistogramSnapshot>;
}

/** What a worker publishes about its own handler runs; durations are execution times. */
export interface WorkerReport extends StatsReport {
  /** Handlers running when it was written. Absent from workers that predate it. */
  inflight?: number;
  /** Tasks waiting for a free slot when it was written. Absent from workers that predate it. */
  queued?: number;
}

/**
 * What a dispatcher publishes about the calls it settled; durations are
 * end-to-end latency. Written only when something settled since the last
 * write, so its throughput is that of its last busy second as of `at`.
 */
export type DispatcherReport = StatsReport;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

function isSummary(v: unknown): v is HandlerSummary {
  if (!isObject(v) || !isCount(v['succeeded']) || !isCount(v['redelivered'])) return false;
  const { failed, throughput, duration } = v;
  if (!isObject(failed) || !Object.values(failed).every(isCount)) return false;
  if (!isObject(throughput) || !isCount(throughput['lastSecond'])) return false;
  if (!isCount(throughput['lastMinute']) || !isObject(duration)) return false;
  return ['count', 'p50', 'p90', 'p99', 'max', 'avg'].every((k) => isCount(duration[k]));
}

/**
 * Reads a published report, a worker's or a dispatcher's; undefined for
 * anything that is not one. The optional fields are extras: one that does not
 * read is left out, and the report stands.
 */
export function parseStatsReport(text: string | null | undefined): WorkerReport | undefined {
  if (typeof text !== 'string') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(value) || typeof value['incarnation'] !== 'string' || !isCount(value['at'])) {
    return undefined;
  }
  const handlers = value['handlers'];
  if (!isObject(handlers) || !Object.values(handlers).every(isSummary)) return undefined;
  const report = value as unknown as WorkerReport;
  if (report.inflight !== undefined && !isCount(report.inflight)) delete report.inflight;
  if (report.queued !== undefined && !isCount(report.queued)) delete report.queued;
  if (report.histograms !== undefined) report.histograms = histogramsOf(report.histograms);
  return report;
}

/** A worker's report: {@link parseStatsReport}, under the name its readers know. */
export const parseWorkerReport: (text: string | null | undefined) => WorkerReport | undefined =
  parseStatsReport;

function histogramsOf(value: unknown): Record<string, HistogramSnapshot> {
  if (!isObject(value)) return {};
  const read: Array<[string, HistogramSnapshot]> = [];
  for (const [name, raw] of Object.entries(value)) {
    const snapshot = parseHistogramSnapshot(raw);
    if (snapshot !== undefined) read.push([name, snapshot]);
  }
  // fromEntries defines own properties: a handler named `__proto__` stays a name.
  return Object.fromEntries(read);
}
