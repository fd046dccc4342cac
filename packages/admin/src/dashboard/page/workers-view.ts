/** The workers table: one row per worker shown, live first, gone ones greyed. */
import type { DashboardWorker } from '../wire.js';
import { el, fillRows } from './dom.js';
import { duration, formatCount, percent, percentiles } from './format.js';

/** `4`; `7*` when the operator set it; `4 → 7*` until the worker takes the operator's. */
export function weightText({ current, policy }: DashboardWorker['weight']): string {
  if (policy === null) return String(current);
  return policy === current ? `${current}*` : `${current} → ${policy}*`;
}

export function renderWorkers(table: HTMLTableElement, workers: readonly DashboardWorker[]): void {
  fillRows(table, workers.map(workerRow), 'no workers in this namespace');
}

function workerRow(w: DashboardWorker): HTMLTableRowElement {
  const gone = w.state === 'gone';
  return el(
    'tr',
    { 'data-worker': w.id, 'data-state': w.state, class: gone ? 'gone' : undefined },
    el('td', { class: 'mono' }, w.id),
    el('td', {}, el('span', { class: `state ${w.state}` }, w.state)),
    el(
      'td',
      {
        class: w.weight.policy === null ? 'num' : 'num policy',
        'data-field': 'weight',
        title:
          w.weight.policy === null ? undefined : 'weight set by the operator (ringcast reweight)',
      },
      weightText(w.weight),
    ),
    shareCell(w),
    el(
      'td',
      { class: 'num' },
      `${w.load.inflight ?? '-'} / ${w.load.concurrency}`,
      w.load.queued ? el('div', { class: 'detail' }, `${w.load.queued} queued`) : null,
    ),
    el('td', { class: w.load.stuckSlots > 0 ? 'num alert' : 'num' }, w.load.stuckSlots),
    el('td', { class: w.state === 'missing' ? 'num alert' : 'num' }, heartbeatText(w)),
    executionCell(w),
    el('td', {}, w.host),
    el('td', { class: 'num' }, w.pid),
    el('td', {}, w.version),
  );
}

function heartbeatText(w: DashboardWorker): string {
  if (w.state === 'gone') return 'expired';
  return w.heartbeat.ageMs === null ? '-' : `${duration(w.heartbeat.ageMs)} ago`;
}

/** Two bars, its part of the tasks over its part of the weight, and both as percentages. */
function shareCell(w: DashboardWorker): HTMLTableCellElement {
  if (w.share.weight === null) return el('td', { class: 'detail' }, '-');
  const bar = (kind: string, part: number | null) => {
    const span = el('span', { class: `bar ${kind}` });
    span.style.width = `${Math.round((part ?? 0) * 100)}%`;
    return span;
  };
  return el(
    'td',
    { title: `${formatCount(w.share.lastMinute)} tasks in the last minute` },
    el('span', { class: 'bars' }, bar('tasks', w.share.tasks), bar('weight', w.share.weight)),
    `${percent(w.share.tasks)} of tasks · ${percent(w.share.weight)} of weight`,
  );
}

function executionCell(w: DashboardWorker): HTMLTableCellElement {
  const { execution } = w;
  if (execution.count === 0) return el('td', { class: 'detail' }, 'no runs yet');
  return el(
    'td',
    {},
    percentiles(execution.p50Ms, execution.p99Ms),
    ...execution.handlers.map((h) =>
      el(
        'div',
        { class: 'detail' },
        `${h.name} ${percentiles(h.p50Ms, h.p99Ms)} (${formatCount(h.count)})`,
      ),
    ),
  );
}
