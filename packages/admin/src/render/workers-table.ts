/** `ringcast workers` as text. */
import type { ClusterView } from '../cluster-view.js';
import { type WorkerRow, workerRows } from '../worker-rows.js';
import { type Column, renderTable } from './table.js';
import { formatMs, plural, truncate } from './units.js';

/** Longest handler list shown in a cell; `--json` has them all. */
const HANDLERS_WIDTH = 40;

/**
 * The weight cell: `4`; `7*` when it is the operator's; `4→7*` while the
 * worker has not taken the operator's weight yet.
 */
export function weightCell(row: Pick<WorkerRow, 'weight' | 'policyWeight'>): string {
  if (row.policyWeight === null) return String(row.weight);
  if (row.policyWeight === row.weight) return `${row.weight}*`;
  return `${row.weight}→${row.policyWeight}*`;
}

const COLUMNS: Column<WorkerRow>[] = [
  { header: 'ID', cell: (r) => r.id },
  { header: 'WEIGHT', cell: weightCell, align: 'right' },
  { header: 'CONCURRENCY', cell: (r) => String(r.concurrency), align: 'right' },
  {
    header: 'IN FLIGHT',
    cell: (r) => (r.inflight === null ? '-' : String(r.inflight)),
    align: 'right',
  },
  { header: 'STUCK', cell: (r) => String(r.stuckSlots), align: 'right' },
  { header: 'HANDLERS', cell: (r) => truncate(r.handlers.join(','), HANDLERS_WIDTH) },
  {
    header: 'HEARTBEAT',
    cell: (r) => (r.heartbeatAgeMs === null ? '-' : `${formatMs(r.heartbeatAgeMs)} ago`),
    align: 'right',
  },
  { header: 'HOST', cell: (r) => r.host },
  { header: 'PID', cell: (r) => String(r.pid), align: 'right' },
  { header: 'VERSION', cell: (r) => r.version },
];

export function renderWorkers(view: ClusterView): string {
  const rows = workerRows(view);
  const lines: string[] = [];
  if (rows.length === 0) lines.push(`no live workers in namespace ${view.namespace}`);
  else lines.push(renderTable(COLUMNS, rows));
  if (rows.some((r) => r.policyWeight !== null)) {
    lines.push('* weight set by the operator (ringcast reweight); a→b* until the worker takes it');
  }
  const summary = [plural(rows.length, 'live worker')];
  if (view.stale > 0) {
    summary.push(
      `${plural(view.stale, 'registry entry', 'registry entries')} without a live heartbeat (dead workers, not pruned yet)`,
    );
  }
  if (rows.length > 0 || view.stale > 0) lines.push(summary.join('; '));
  return lines.join('\n');
}
