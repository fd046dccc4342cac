// The load run's summary as the terminal shows it: a row per route, then the totals.
import type { LoadSummary } from './load.js';

const number = new Intl.NumberFormat('en-US');

function ms(value: number): string {
  if (Number.isNaN(value)) return '-';
  return value < 10 ? `${value.toFixed(1)} ms` : `${number.format(Math.round(value))} ms`;
}

function statuses(counts: Record<number, number>): string {
  return Object.entries(counts)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([status, n]) => `${status === '0' ? 'no answer' : status} ×${number.format(n)}`)
    .join(', ');
}

function parts(counts: Record<string, number | undefined>): string {
  return Object.entries(counts)
    .map(([what, n]) => `${what} ${number.format(n ?? 0)}`)
    .join(', ');
}

export function formatSummary(summary: LoadSummary): string[] {
  const header = ['route', 'requests', 'statuses', 'p50', 'p99'];
  const rows = summary.routes.map((r) => [
    r.route,
    number.format(r.requests),
    statuses(r.statuses),
    ms(r.p50Ms),
    ms(r.p99Ms),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  // Names and statuses read left to right; numbers line up on the right.
  const line = (cells: string[]) =>
    `  ${cells.map((c, i) => (i === 0 || i === 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('   ')}`;
  const out = [line(header), `  ${'─'.repeat(widths.reduce((a, b) => a + b + 3, -3))}`];
  for (const row of rows) out.push(line(row));

  const { outcomes, reports } = summary;
  const seconds = summary.durationMs / 1000;
  const intended = outcomes.intended > 0 ? ` (${parts(summary.intended)})` : '';
  const transient = outcomes.transient > 0 ? ` (${parts(summary.transient)})` : '';
  out.push('');
  out.push(
    `  ${number.format(summary.sent)} requests in ${seconds.toFixed(1)} s ` +
      `(${number.format(Math.round(summary.sent / seconds))}/s), p50 ${ms(summary.p50Ms)}, p99 ${ms(summary.p99Ms)}`,
  );
  out.push(
    `  ${number.format(outcomes.ok)} ok, ${number.format(outcomes.intended)} failed as intended${intended}, ` +
      `${number.format(outcomes.transient)} transient errors${transient}, ${number.format(outcomes.unexpected)} unexpected`,
  );
  out.push(
    `  reports: ${number.format(reports.submitted)} submitted, ${number.format(reports.succeeded)} built` +
      (reports.failed > 0 ? `, ${number.format(reports.failed)} failed` : '') +
      (reports.unfinished > 0 ? `, ${number.format(reports.unfinished)} unfinished` : ''),
  );
  const served = Object.entries(summary.servedBy).sort(([a], [b]) => a.localeCompare(b));
  const total = served.reduce((sum, [, n]) => sum + n, 0);
  if (total > 0) {
    const shares = served.map(([worker, n]) => `${worker} ${Math.round((n / total) * 100)}%`);
    out.push(`  tasks run by: ${shares.join(', ')}`);
  }
  if (summary.skipped > 0) {
    out.push(
      `  ${number.format(summary.skipped)} requests not sent: every --concurrency slot was waiting ` +
        '(raise --concurrency or lower --rate)',
    );
  }
  for (const sample of summary.unexpected) out.push(`  unexpected: ${sample}`);
  return out;
}
