/**
 * Per-handler execution statistics, kept the same way on both sides: the
 * dispatcher times each task from `dispatch()` to settlement, the worker times
 * each handler run. Fixed memory per handler (a {@link DurationHistogram} and a
 * {@link RateWindow}); recording an outcome allocates nothing once the handler
 * and error code have been seen.
 *
 * Workers publish theirs to Redis as a {@link WorkerReport} (JSON, under
 * `names().workerStatsKey(id)`, expiring with the worker) for any dispatcher
 * or tool to read; {@link parseWorkerReport} checks what it reads.
 */
import {
  DurationHistogram,
  type DurationSummary,
  type HistogramSnapshot,
  parseHistogramSnapshot,
} from './histogram.js';
import { RateWindow, type Throughput } from './rate-window.js';

/** What one handler's statistics say; durations in milliseconds. */
export interface HandlerSummary {
  /** Tasks that ended with a value. */
  succeeded: number;
  /** Tasks that ended with an error, by code (`HANDLER_ERROR`, `TIMEOUT`, …). */
  failed: Record<string, number>;
  /** Outcomes of an attempt after the first (a redelivery or a retry). */
  redelivered: number;
  /** Outcomes per whole second and per minute, both ending at the last whole second. */
  throughput: Throughput;
  /** Dispatcher: `dispatch()` to settlement. Worker: the handler's run. */
  duration: DurationSummary;
}

/** The statistics of one handler. */
export class HandlerStats {
  succeeded = 0;
  readonly failed: Record<string, number> = Object.create(null);
  redelivered = 0;
  readonly duration = new DurationHistogram();
  readonly rate = new RateWindow();

  /** One outcome: `code` undefined for success; `ms` its duration; `nowMs` epoch ms. */
  record(ms: number, code: string | undefined, redelivered: boolean, nowMs: number): void {
    if (code === undefined) this.succeeded++;
    else this.failed[code] = (this.failed[code] ?? 0) + 1;
    if (redelivered) this.redelivered++;
    this.duration.record(ms);
    this.rate.add(nowMs);
  }

  summary(nowMs: number): HandlerSummary {
    return {
      succeeded: this.succeeded,
      failed: { ...this.failed },
      redelivered: this.redelivered,
      throughput: this.rate.read(nowMs),
      duration: this.duration.summary(),
    };
  }
}

/** The name handlers past {@link MAX_TRACKED_HANDLERS} are counted under. */
export const OTHER_HANDLERS = '(other)';
/** Distinct handler names tracked one by one: a caller's typos must not grow memory without bound. */
export const MAX_TRACKED_HANDLERS = 256;

/** Statistics per handler name, bounded in count. */
export class HandlerStatsBook {
  readonly #byHandler = new Map<string, HandlerStats>();

  /** The statistics of `handler`, made the first time it is seen. */
  of(handler: string): HandlerStats {
    let stats = this.#byHandler.get(handler);
    if (stats === undefined) {
      const name = this.#byHandler.size < MAX_TRACKED_HANDLERS ? handler : OTHER_HANDLERS;
      stats = this.#byHandler.get(name) ?? new HandlerStats();
      this.#byHandler.set(name, stats);
    }
    return stats;
  }

  entries(): IterableIterator<[string, HandlerStats]> {
    return this.#byHandler.entries();
  }

  summary(nowMs: number): Record<string, HandlerSummary> {
    const out: Record<string, HandlerSummary> = {};
    for (const [name, stats] of this.#byHandler) out[name] = stats.summary(nowMs);
    return out;
  }

  /** Per handler, the histogram behind its `duration`, for another process to merge. */
  histograms(): Record<string, HistogramSnapshot> {
    const out: Record<string, HistogramSnapshot> = {};
    for (const [name, stats] of this.#byHandler) out[name] = stats.duration.snapshot();
    return out;
  }
}

/** What a worker publishes about its own handler runs. */
export interface WorkerReport {
  /** The worker process that wrote it (its registry entry's incarnation). */
  incarnation: string;
  /** When it was written (epoch ms). */
  at: number;
  /** Handler runs per handler; durations are the handlers' execution times. */
  handlers: Record<string, HandlerSummary>;
  /** Handlers running when it was written. Absent from workers that predate it. */
  inflight?: number;
  /** Tasks waiting for a free slot when it was written. Absent from workers that predate it. */
  queued?: number;
  /**
   * Per handler, the histogram behind `handlers[name].duration`, so that a tool
   * can merge several workers' and take the percentiles of the whole. Absent
   * from workers that predate it.
   */
  histograms?: Record<string, HistogramSnapshot>;
}

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

/** Reads a published report; undefined for anything that is not one. */
export function parseWorkerReport(text: string | null | undefined): WorkerReport | undefined {
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
  // The later fields are extras: one that does not read is left out, the report stands.
  if (report.inflight !== undefined && !isCount(report.inflight)) delete report.inflight;
  if (report.queued !== undefined && !isCount(report.queued)) delete report.queued;
  if (report.histograms !== undefined) report.histograms = histogramsOf(report.histograms);
  return report;
}

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
