/** `ringcast stats` as text: a table per handler, then one per worker and handler. */
import type { HandlerSummary } from '@ringcast/protocol';
import type { StatsReport } from '../stats-report.js';
import { type Column, renderTable } from './table.js';
import { formatCount, formatFailures, formatMs } from './units.js';

/** The figure columns both tables share; `name` columns go in front. */
function figureColumns<R>(summary: (row: R) => HandlerSummary): Column<R>[] {
  const ms = (pick: (s: HandlerSummary) => number) => (row: R) => {
    const s = summary(row);
    return s.duration.count === 0 ? '-' : formatMs(pick(s));
  };
  return [
    { header: 'OK', cell: (r) => formatCount(summary(r).succeeded), align: 'right' },
    { header: 'FAILED', cell: (r) => formatFailures(summary(r).failed), align: 'right' },
    { header: 'REDELIVERED', cell: (r) => formatCount(summary(r).redelivered), align: 'right' },
    {
      header: 'LAST S',
      cell: (r) => formatCount(summary(r).throughput.lastSecond),
      align: 'right',
    },
    {
      header: 'LAST MIN',
      cell: (r) => formatCount(summary(r).throughput.lastMinute),
      align: 'right',
    },
    { header: 'P50', cell: ms((s) => s.duration.p50), align: 'right' },
    { header: 'P90', cell: ms((s) => s.duration.p90), align: 'right' },
    { header: 'P99', cell: ms((s) => s.duration.p99), align: 'right' },
    { header: 'MAX', cell: ms((s) => s.duration.max), align: 'right' },
    { header: 'AVG', cell: ms((s) => s.duration.avg), align: 'right' },
  ];
}

type HandlerRow = [name: string, summary: HandlerSummary & { sources: number }];
type WorkerRow = [worker: string, handler: string, summary: HandlerSummary];

const HANDLER_COLUMNS: Column<HandlerRow>[] = [
  { header: 'HANDLER', cell: ([name]) => name },
  { header: 'WORKERS', cell: ([, s]) => String(s.sources), align: 'right' },
  ...figureColumns<HandlerRow>(([, s]) => s),
];

const WORKER_COLUMNS: Column<WorkerRow>[] = [
  { header: 'WORKER', cell: ([worker]) => worker },
  { header: 'HANDLER', cell: ([, handler]) => handler },
  ...figureColumns<WorkerRow>(([, , s]) => s),
];

export function renderStats(report: StatsReport): string {
  const handlers = Object.entries(report.handlers);
  const workers = Object.entries(report.workers);
  if (handlers.length === 0 && report.unreported.length === 0) {
    return `no live workers in namespace ${report.namespace}`;
  }
  const perWorker: WorkerRow[] = workers.flatMap(([id, entry]) =>
    Object.keys(entry.handlers)
      .sort()
      .map((handler): WorkerRow => [id, handler, entry.handlers[handler]!]),
  );
  const lines = [
    'Per handler, over every live worker (throughput: runs ended in the last second / minute;',
    'durations: handler execution time on the workers, percentiles of the merged histograms):',
    '',
    renderTable(HANDLER_COLUMNS, handlers),
    '',
    'Per worker:',
    '',
    renderTable(WORKER_COLUMNS, perWorker),
  ];
  const partial = handlers.filter(([, s]) => s.withoutHistogram > 0).map(([name]) => name);
  if (partial.length > 0) {
    lines.push(
      `percentiles of ${partial.join(', ')} leave out workers that publish no histogram (older versions)`,
    );
  }
  if (report.unreported.length > 0) {
    lines.push(`no stats report yet from ${report.unreported.join(', ')}`);
  }
  lines.push(
    'End-to-end latency is measured by each dispatcher (stats().handlers, ringcast_dispatcher_task_duration_seconds).',
  );
  return lines.join('\n');
}
