/**
 * The arithmetic of the charts, apart from the DOM: the time window, axis
 * ticks at round values, and a series as an SVG path with gaps where a sample
 * is missing (Redis could not be read, or nothing ran).
 */

/** The shortest window shown: the first seconds of a dashboard fill from the right. */
export const MIN_WINDOW_MS = 60_000;

export type Point = readonly [at: number, value: number | null];

/** The smallest of 1, 2, 2.5, 5 times a power of ten that is at least `value`; 1 for 0 or less. */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * power >= value * (1 - 1e-12)) return step * power;
  }
  return 10 * power;
}

/** `count` + 1 evenly spaced values from 0 to `top`. */
export function valueTicks(top: number, count = 4): number[] {
  return Array.from({ length: count + 1 }, (_, i) => (top * i) / count);
}

const TIME_STEPS_MS = [15_000, 30_000, 60_000, 120_000, 300_000];

/** Ticks at whole steps back from `to` (now): about four of them over the window. */
export function timeTicks(from: number, to: number): number[] {
  const span = to - from;
  const step = TIME_STEPS_MS.find((s) => span / s <= 5) ?? TIME_STEPS_MS.at(-1)!;
  const ticks: number[] = [];
  for (let t = to; t >= from - 1; t -= step) ticks.push(t);
  return ticks.reverse();
}

/** `-5 min`, `-30 s`, `now`: a tick's distance back from the right edge. */
export function ago(ms: number): string {
  if (ms < 1_000) return 'now';
  return ms >= 60_000 ? `-${Math.round(ms / 60_000)} min` : `-${Math.round(ms / 1000)} s`;
}

/** The window: the samples' span, at least {@link MIN_WINDOW_MS}, ending at the newest. */
export function windowOf(points: readonly Point[], now: number): { from: number; to: number } {
  const to = points.at(-1)?.[0] ?? now;
  const first = points[0]?.[0] ?? to;
  return { from: Math.min(first, to - MIN_WINDOW_MS), to };
}

/** An SVG path through the points, broken where a value is null. */
export function linePath(
  points: readonly Point[],
  x: (at: number) => number,
  y: (value: number) => number,
): string {
  let path = '';
  let pen = false;
  for (const [at, value] of points) {
    if (value === null) {
      pen = false;
      continue;
    }
    path += `${pen ? 'L' : 'M'}${x(at).toFixed(1)} ${y(value).toFixed(1)}`;
    pen = true;
  }
  return path;
}
