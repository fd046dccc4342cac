/**
 * Publishes the worker's execution statistics to Redis, beside its registry
 * entry, for any dispatcher or tool to read: a JSON `WorkerReport` under
 * `workerStatsKey(id)` with a TTL, so it expires with a dead worker. Written
 * from the main loop about once a second, only when runs ended since the last
 * write or the key is a third of its TTL old; never awaited by the loop, and
 * one write at a time.
 */
import { type Clock, errorMessage, type WorkerReport } from '@ringcast/protocol';
import type { ExecutionStats } from './execution-stats.js';
import type { WorkerCounters } from './stats.js';
import type { WorkerTransport } from './transport.js';

export const STATS_INTERVAL_MS = 1_000;

export interface StatsPublisherHost {
  readonly clock: Clock;
  readonly transport: Pick<WorkerTransport, 'publishStats'>;
  readonly execution: ExecutionStats;
  /** Read at each write: the report says how many handlers ran and waited then. */
  readonly counters: Pick<WorkerCounters, 'inflight' | 'queued'>;
  readonly incarnation: string;
  /** The key's lifetime; at least three intervals. */
  readonly ttlMs: number;
  warn(line: string): void;
}

export class StatsPublisher {
  readonly #host: StatsPublisherHost;
  #timer: ReturnType<Clock['setInterval']> | undefined;
  #writing = false;
  #lastRuns = -1;
  #lastAt = 0;

  constructor(host: StatsPublisherHost) {
    this.#host = host;
  }

  start(): void {
    this.#timer ??= this.#host.clock.setInterval(this.#tick, STATS_INTERVAL_MS);
    this.#tick();
  }

  stop(): void {
    this.#host.clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  report(now: number): WorkerReport {
    const { incarnation, execution, counters } = this.#host;
    return {
      incarnation,
      at: now,
      handlers: execution.book.summary(now),
      inflight: counters.inflight,
      queued: counters.queued,
      histograms: execution.book.histograms(),
    };
  }

  #tick = (): void => {
    const host = this.#host;
    const now = host.clock.now();
    const runs = host.execution.runs;
    if (this.#writing) return;
    // Throughput decays while idle: one write after the last run shows it at zero.
    if (runs === this.#lastRuns && now - this.#lastAt < host.ttlMs / 3) return;
    this.#writing = true;
    const last = this.#lastRuns;
    this.#lastRuns = runs;
    this.#lastAt = now;
    host.transport
      .publishStats(JSON.stringify(this.report(now)), host.ttlMs)
      .catch((error: unknown) => {
        this.#lastRuns = last;
        host.warn(`publishing execution stats failed: ${errorMessage(error)}`);
      })
      .finally(() => {
        this.#writing = false;
      });
  };
}
