/**
 * `ringcast stats` as text: execution per handler over the workers, end-to-end
 * latency per handler over the dispatchers, then one row per worker and handler.
 */
import type { HandlerSummary } from '@ringcast/protocol';
import type { StatsReport } from '../stats-report.js';
import { type Column, renderTable } from './table.js';
import { formatCount, formatFailures, formatMs, plural } from './units.js';

/** Outcome columns: succeeded and failed by code. */
function outcomeColumns<R>(summary: (row: R) => HandlerSummary): Column<R>[] {
  return [
    { header: 'OK', cell: (r) => formatCount(summary(r).succeeded), align: 'right' },
    { header: 'FAILED', cell: (r) => formatFailures(summary(r).failed), align: 'right' },
  ];
}

/** Duration columns: p50, p90, p99, max, avg; `-` for none. */
function durationColumns<R>(summary: (row: R) => HandlerSummary): Column<R>[] {
  const ms = (pick: (s: HandlerSummary) => number) => (row: R) => {
    const s = summary(row);
    return s.duration.count === 0 ? '-' : formatMs(pick(s));
  };
  return [
    { header: 'P50', cell: ms((s) => s.duration.p50), align: 'right' },
    { header: 'P90', cell: ms((s) => s.duration.p90), align: 'right' },
    { header: 'P99', cell: ms((s) => s.duration.p99), align: 'right' },
    { header: 'MAX', cell: ms((s) => s.duration.max), align: 'right' },
    { header: 'AVG', cell: ms((s) => s.duration.avg), align: 'right' },
  ];
}

/** The figure columns the execution tables share; `name` columns go in front. */
function figureColumns<R>(summary: (row: R) => HandlerSummary): Column<R>[] {
  return [
    ...outcomeColumns(summary),
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
    ...durationColumns(summary),
  ];
}

type HandlerRow = [name: string, summary: HandlerSummary & { sources: number }];
type WorkerRow = [worker: string, handler: string, summary: HandlerSummary];

const HANDLER_COLUMNS: Column<HandlerRow>[] = [
  { header: 'HANDLER', cell: ([name]) => name },
  { header: 'WORKERS', cell: ([, s]) => String(s.sources), align: 'right' },
  ...figureColumns<HandlerRow>(([, s]) => s),
];

const LATENCY_COLUMNS: Column<HandlerRow>[] = [
  { header: 'HANDLER', cell: ([name]) => name },
  { header: 'DISPATCHERS', cell: ([, s]) => String(s.sources), align: 'right' },
  ...outcomeColumns<HandlerRow>(([, s]) => s),
  ...durationColumns<HandlerRow>(([, s]) => s),
];

const WORKER_COLUMNS: Column<WorkerRow>[] = [
  { header: 'WORKER', cell: ([worker]) => worker },
  { header: 'HANDLER', cell: ([, handler]) => handler },
  ...figureColumns<WorkerRow>(([, , s]) => s),
];

export function renderStats(report: StatsReport): string {
  const handlers = Object.entries(report.handlers);
  const latency = Object.entries(report.latency);
  const workers = Object.entries(report.workers);
  if (handlers.length === 0 && latency.length === 0 && report.unreported.length === 0) {
    return `no live workers in namespace ${report.namespace}`;
  }
  const perWorker: WorkerRow[] = workers.flatMap(([id, entry]) =>
    Object.keys(entry.handlers)
      .sort()
      .map((handler): WorkerRow => [id, handler, entry.handlers[handler]!]),
  );
  const dispatchers = Object.keys(report.dispatchers).length;
  const lines = [
    'Per handler, over every live worker (throughput: runs ended in the last second / minute;',
    'durations: handler execution time on the workers, percentiles of the merged histograms):',
    '',
    renderTable(HANDLER_COLUMNS, handlers),
    '',
  ];
  if (latency.length === 0) {
    lines.push(
      'End-to-end latency: no dispatcher has published a report (a dispatcher writes one while',
      'calls settle; it expires statsTtlMs, 15 min by default, after its last).',
    );
  } else {
    lines.push(
      `End-to-end latency per handler, dispatch() to settlement, over ${plural(dispatchers, 'dispatcher')}`,
      '(calls each settled since it started; percentiles of the merged histograms):',
      '',
      renderTable(LATENCY_COLUMNS, latency),
    );
  }
  lines.push('', 'Per worker:', '', renderTable(WORKER_COLUMNS, perWorker));
  const partial = handlers.filter(([, s]) => s.withoutHistogram > 0).map(([name]) => name);
  if (partial.length > 0) {
    lines.push(
      `percentiles of ${partial.join(', ')} leave out workers that publish no histogram (older versions)`,
    );
  }
  if (report.unreported.length > 0) {
    lines.push(`no stats report yet from ${report.unreported.join(', ')}`);
  }
  return lines.join('\n');
}
