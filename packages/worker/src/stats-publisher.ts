/**
 * Publishes the worker's execution statistics to Redis, beside its registry
 * entry, for any dispatcher or tool to read: a JSON `WorkerReport` under
 * `workerStatsKey(id)` with a TTL, so it expires with a dead worker. Written
 * by protocol's `ReportPublisher` about once a second when runs ended since
 * the last write, and when the key is a third of its TTL old: a live worker's
 * report never expires, and one write after the last run shows its
 * throughput at zero.
 */
import {
  type Clock,
  REPORT_INTERVAL_MS,
  ReportPublisher,
  type WorkerReport,
} from '@ringcast/protocol';
import type { ExecutionStats } from './execution-stats.js';
import type { WorkerCounters } from './stats.js';
import type { WorkerTransport } from './transport.js';

export const STATS_INTERVAL_MS = REPORT_INTERVAL_MS;

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
  readonly #publisher: ReportPublisher;

  constructor(host: StatsPublisherHost) {
    this.#host = host;
    this.#publisher = new ReportPublisher({
      clock: host.clock,
      changes: () => host.execution.runs,
      report: (now) => this.report(now),
      write: (json) => host.transport.publishStats(json, host.ttlMs),
      refreshMs: host.ttlMs / 3,
      warn: (line) => host.warn(line),
    });
  }

  start(): void {
    this.#publisher.start();
  }

  stop(): void {
    void this.#publisher.stop();
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
}
