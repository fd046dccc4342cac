/** How figures read in the CLI's tables: short, with their unit, never more digits than they mean. */

/** A duration in ms: `0 ms`, `0.42 ms`, `4.2 ms`, `42 ms`, `4.2 s`, `42 s`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms === 0) return '0 ms';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 1000)} s`;
}

/** A count with thousands separators: `20,000`. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: 0 });
}

/** Failures by code: `3 (TIMEOUT 2, HANDLER_ERROR 1)`, `0` when none. */
export function formatFailures(failed: Readonly<Record<string, number>>): string {
  const codes = Object.entries(failed)
    .filter(([, n]) => n > 0)
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
  const total = codes.reduce((sum, [, n]) => sum + n, 0);
  if (total === 0) return '0';
  return `${formatCount(total)} (${codes.map(([code, n]) => `${code} ${formatCount(n)}`).join(', ')})`;
}

/** `text` cut to `max` characters, with `…` where it was cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** `1 worker`, `2 workers`: the noun in the number it counts. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}
