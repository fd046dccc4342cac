/**
 * A line chart drawn as SVG: a few series over a time window, a value axis at
 * round ticks and a time axis counted back from now. Hand-written rather than
 * a charting library: two small charts need a hundred lines, and the page
 * loads nothing it does not ship.
 */
import { ago, linePath, niceCeiling, type Point, timeTicks, valueTicks } from './chart-scale.js';
import { svg } from './dom.js';

export interface Series {
  /** The CSS class of its line (its colour). */
  className: string;
  points: readonly Point[];
}

export interface ChartFrame {
  from: number;
  to: number;
  /** A value axis label. */
  format(value: number): string;
}

/** The drawing's size (its viewBox) and the margins its axis labels take. */
const BOX = { width: 640, height: 200, left: 62, right: 10, top: 10, bottom: 22 } as const;

/** Draws `series` into `target` (an `<svg viewBox="0 0 640 200">`), replacing what it held. */
export function drawChart(
  target: SVGSVGElement,
  series: readonly Series[],
  frame: ChartFrame,
): void {
  const { from, to } = frame;
  const visible = series.map((s) => s.points.filter(([at]) => at >= from));
  const values = visible.flat().flatMap(([, v]) => (v === null ? [] : [v]));
  const top = niceCeiling(Math.max(0, ...values));
  const x = (at: number) =>
    BOX.left + ((at - from) / Math.max(1, to - from)) * (BOX.width - BOX.left - BOX.right);
  const y = (value: number) =>
    BOX.height - BOX.bottom - (value / top) * (BOX.height - BOX.top - BOX.bottom);
  const parts: SVGElement[] = [];
  for (const tick of valueTicks(top)) {
    const ty = y(tick);
    parts.push(
      svg('line', { class: 'grid-line', x1: BOX.left, x2: BOX.width - BOX.right, y1: ty, y2: ty }),
    );
    parts.push(
      svg(
        'text',
        { class: 'axis-label', x: BOX.left - 6, y: ty + 4, 'text-anchor': 'end' },
        frame.format(tick),
      ),
    );
  }
  for (const tick of timeTicks(from, to)) {
    parts.push(
      svg(
        'text',
        {
          class: 'axis-label',
          x: x(tick),
          y: BOX.height - 6,
          'text-anchor': tick === to ? 'end' : 'middle',
        },
        ago(to - tick),
      ),
    );
  }
  series.forEach((s, i) => {
    const d = linePath(visible[i]!, x, y);
    if (d !== '') parts.push(svg('path', { class: `series ${s.className}`, d }));
  });
  if (values.length === 0) {
    parts.push(
      svg(
        'text',
        { class: 'empty', x: BOX.width / 2, y: BOX.height / 2, 'text-anchor': 'middle' },
        'no data yet',
      ),
    );
  }
  target.replaceChildren(...parts);
  // What the chart shows, for a test or a curious reader of the DOM.
  target.dataset['points'] = String(values.length);
  target.dataset['max'] = String(values.length === 0 ? 0 : Math.max(...values));
}
