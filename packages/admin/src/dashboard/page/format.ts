/** How the page writes figures; durations and counts as the CLI writes them (render/units.ts). */
import { formatCount, formatMs } from '../../render/units.js';

export { formatCount };

/** `42%`; `-` for none. */
export function percent(part: number | null): string {
  return part === null ? '-' : `${Math.round(part * 100)}%`;
}

/** Tasks per second: `0`, `0.4`, `12`, `1,250`. */
export function rate(perSecond: number): string {
  if (perSecond === 0) return '0';
  return perSecond < 10 ? perSecond.toFixed(1) : formatCount(Math.round(perSecond));
}

/** A wall-clock time, `14:03:07`. */
export function clock(epochMs: number): string {
  return new Date(epochMs).toLocaleTimeString('en-GB', { hour12: false });
}

/** A duration: below a millisecond in whole microseconds (`4 µs`, `230 µs`), else as the CLI writes it. */
export function duration(ms: number): string {
  return ms > 0 && ms < 1 ? `${Math.max(1, Math.round(ms * 1000))} µs` : formatMs(ms);
}

/** `p50 / p99` of a duration pair. */
export function percentiles(p50Ms: number, p99Ms: number): string {
  return `${duration(p50Ms)} / ${duration(p99Ms)}`;
}
