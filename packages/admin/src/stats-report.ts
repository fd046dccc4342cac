/**
 * What `ringcast stats` shows, as data: per handler over every live worker
 * (see stats-rollup.ts for how figures add up) and, beside it, over every
 * dispatcher that published a report; and per worker, each handler as the
 * worker reported it plus its whole load. Durations are in ms: the workers'
 * are the handlers' execution times, the dispatchers' end-to-end latency
 * (`dispatch()` to settlement).
 */
import type { HandlerSummary } from '@ringcast/protocol';
import type { ClusterView } from './cluster-view.js';
import { rollUpByHandler, rollUpWorker, type StatsRollup } from './stats-rollup.js';

export interface WorkerStatsEntry {
  /** When the worker wrote the report (epoch ms). */
  reportedAt: number;
  /** Its handlers summed. */
  total: StatsRollup;
  handlers: Record<string, HandlerSummary>;
}

export interface StatsReport {
  namespace: string;
  /** When it was read (epoch ms). */
  readAt: number;
  /** Per handler, over every live worker that reported; by name. Durations: execution time. */
  handlers: Record<string, StatsRollup>;
  /**
   * Per handler, over every dispatcher whose report has not expired; by name.
   * Durations: end-to-end latency; counts: calls settled; `sources`: dispatchers.
   */
  latency: Record<string, StatsRollup>;
  /** The dispatchers summed in `latency`, by id: when each wrote its report (epoch ms). */
  dispatchers: Record<string, { reportedAt: number }>;
  /** Per live worker that has published a report; by id. */
  workers: Record<string, WorkerStatsEntry>;
  /** Live workers without a report yet (just started); by id. */
  unreported: string[];
}

export function statsReport(view: ClusterView): StatsReport {
  const reports = view.workers.flatMap((w) => (w.report === undefined ? [] : [w.report]));
  const workers: Record<string, WorkerStatsEntry> = {};
  const unreported: string[] = [];
  for (const w of view.workers) {
    if (w.report === undefined) {
      unreported.push(w.id);
      continue;
    }
    workers[w.id] = {
      reportedAt: w.report.at,
      total: rollUpWorker(w.report),
      handlers: w.report.handlers,
    };
  }
  return {
    namespace: view.namespace,
    readAt: view.readAt,
    handlers: Object.fromEntries(rollUpByHandler(reports)),
    latency: Object.fromEntries(rollUpByHandler(view.dispatchers.map((d) => d.report))),
    dispatchers: Object.fromEntries(
      view.dispatchers.map((d) => [d.id, { reportedAt: d.report.at }]),
    ),
    workers,
    unreported,
  };
}
