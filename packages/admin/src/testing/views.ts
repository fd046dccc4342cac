/**
 * Cluster views and worker reports made by hand, for the unit tests of what
 * reads them (the dashboard's states, rates and snapshot). Not built into the
 * package. Reports are made the way workers make them: HandlerStats records
 * the runs, so counts, summaries and histograms agree.
 */
import { HandlerStatsBook, type WorkerInfo, type WorkerReport } from '@ringcast/protocol';
import type { ClusterView, LiveWorker } from '../cluster-view.js';

export function workerInfo(id: string, fields: Partial<WorkerInfo> = {}): WorkerInfo {
  return {
    id,
    incarnation: `${id}-1`,
    weight: 1,
    concurrency: 8,
    maxQueue: 0,
    heartbeatTtlMs: 3_000,
    heartbeatIntervalMs: 1_000,
    maxMessageBytes: 1_048_576,
    handlers: ['echo'],
    host: 'host-a',
    pid: 100,
    version: '0.1.0',
    startedAt: 1_000,
    ...fields,
  };
}

export function liveWorker(
  id: string,
  fields: {
    info?: Partial<WorkerInfo>;
    ageMs?: number;
    report?: WorkerReport;
    policy?: number;
  } = {},
): LiveWorker {
  const info = workerInfo(id, fields.info);
  return {
    id,
    info,
    policyWeight: fields.policy,
    heartbeat: { incarnation: info.incarnation, blockedMs: 0, stalledMs: 0, overdue: 0 },
    heartbeatAgeMs: fields.ageMs ?? 100,
    report: fields.report,
  };
}

export function clusterView(workers: LiveWorker[], fields: Partial<ClusterView> = {}): ClusterView {
  return {
    namespace: 'ns',
    readAt: 10_000,
    workers,
    stale: 0,
    durable: { waiting: 0, delayed: 0, active: 0, owners: [] },
    ...fields,
  };
}

/** One handler run: its handler, duration and outcome (an error code for a failure). */
export interface Run {
  handler: string;
  ms: number;
  code?: string;
  redelivered?: boolean;
}

/**
 * A worker's stats, fed runs and read as reports at chosen times, as its
 * stats publisher would write them: cumulative over everything recorded.
 */
export class ReportingWorker {
  readonly #book = new HandlerStatsBook();
  readonly incarnation: string;

  constructor(incarnation: string) {
    this.incarnation = incarnation;
  }

  /** Records `runs` as ended at `atMs`. */
  run(atMs: number, ...runs: Run[]): this {
    for (const r of runs)
      this.#book.of(r.handler).record(r.ms, r.code, r.redelivered ?? false, atMs);
    return this;
  }

  report(atMs: number, fields: Partial<WorkerReport> = {}): WorkerReport {
    // Through JSON, as a reader gets it from Redis.
    return JSON.parse(
      JSON.stringify({
        incarnation: this.incarnation,
        at: atMs,
        handlers: this.#book.summary(atMs),
        inflight: 0,
        queued: 0,
        histograms: this.#book.histograms(),
        ...fields,
      }),
    ) as WorkerReport;
  }
}

/** `n` runs of `handler`, each taking `ms`. */
export function runs(n: number, handler: string, ms: number, code?: string): Run[] {
  return Array.from({ length: n }, () =>
    code === undefined ? { handler, ms } : { handler, ms, code },
  );
}
