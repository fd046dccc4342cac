/**
 * Per-handler execution statistics, kept the same way on both sides: the
 * dispatcher times each task from `dispatch()` to settlement, the worker times
 * each handler run. Fixed memory per handler (a {@link DurationHistogram} and a
 * {@link RateWindow}); recording an outcome allocates nothing once the handler
 * and error code have been seen.
 *
 * Both publish theirs to Redis as a stats report (stats-report.ts) for any
 * dispatcher or tool to read.
 */
import { DurationHistogram, type DurationSummary, type HistogramSnapshot } from './histogram.js';
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

  /** Outcomes recorded since start, over every handler: what moved since a publisher last looked. */
  outcomes(): number {
    let total = 0;
    for (const stats of this.#byHandler.values()) total += stats.duration.count;
    return total;
  }

  /** Per handler, the histogram behind its `duration`, for another process to merge. */
  histograms(): Record<string, HistogramSnapshot> {
    const out: Record<string, HistogramSnapshot> = {};
    for (const [name, stats] of this.#byHandler) out[name] = stats.duration.snapshot();
    return out;
  }
}
