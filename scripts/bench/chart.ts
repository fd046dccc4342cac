// The strategies scenario as a picture: a hand-written SVG (no charting library), one row per
// strategy with each worker's share of the tasks and the throughput, and the keyed run below.
import { STRATEGY_FLEET, type StrategiesResult, type StrategyRun } from './strategies.js';

const FAST_COLOURS = ['#4c78a8', '#72b7b2', '#54a24b'];
/** The keyed runs' workers are all alike: the slow worker's red would mislead there. */
const EVEN_COLOURS = ['#4c78a8', '#72b7b2', '#54a24b', '#b279a2'];
const SLOW_COLOUR = '#e45756';
const TEXT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function pct(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}

function ms(value: number): string {
  return value >= 100 ? String(Math.round(value)) : String(Math.round(value * 10) / 10);
}

/** `when`: the run's date and machine, printed small under the title. */
export function strategiesSvg(result: StrategiesResult, w: number, when: string): string {
  const fleet = STRATEGY_FLEET;
  const ids: string[] = [...fleet.workers];
  const colour = (id: string) =>
    id === fleet.slow ? SLOW_COLOUR : FAST_COLOURS[ids.indexOf(id) % FAST_COLOURS.length]!;
  const rowH = 34;
  const top = 96;
  const shareX = 200;
  const shareW = 300;
  const rateX = 560;
  const rateW = 170;
  const rows = result.runs;
  const maxRate = Math.max(...rows.map((r) => r.summary.tasksPerSec), 1);
  const keyedTop = top + rows.length * rowH + 56;
  const keyedRows = result.keyed.length * 2;
  const height = keyedTop + keyedRows * rowH + 70;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="900" height="${height}" viewBox="0 0 900 ${height}" role="img" aria-label="ringcast selection strategies benchmark">`,
    `<rect width="900" height="${height}" fill="#ffffff"/>`,
    `<text x="20" y="30" ${TEXT} font-size="18" font-weight="600" fill="#222">Selection strategies: four workers, one ${fleet.slowFactor}× slower (${fleet.slow}), W = ${w}</text>`,
    `<text x="20" y="50" ${TEXT} font-size="12" fill="#666">${escapeXml(when)} · the handler sleeps ${fleet.handlerMs} ms, ${fleet.handlerMs * fleet.slowFactor} ms on ${fleet.slow} · latency from dispatch() to settlement</text>`,
    `<text x="${shareX}" y="${top - 14}" ${TEXT} font-size="12" fill="#444">share of tasks per worker</text>`,
    `<text x="${rateX}" y="${top - 14}" ${TEXT} font-size="12" fill="#444">tasks/s · p50 / p99</text>`,
  );
  // A line at the even share: where the slow worker's segment ends under equal turns.
  const evenX = shareX + shareW * (1 - 1 / ids.length);
  const row = (run: StrategyRun, y: number, label: string, showRate: boolean) => {
    out.push(
      `<text x="20" y="${y + 19}" ${TEXT} font-size="13" fill="#222">${escapeXml(label)}</text>`,
    );
    let x = shareX;
    // Keyed rows put the busiest worker first, so its segment reads against the even share.
    const order = showRate
      ? ids
      : [...ids].sort((a, b) => (run.shares[b] ?? 0) - (run.shares[a] ?? 0));
    for (const id of order) {
      const width = shareW * (run.shares[id] ?? 0);
      const fill = showRate ? colour(id) : EVEN_COLOURS[ids.indexOf(id) % EVEN_COLOURS.length];
      out.push(
        `<rect x="${x.toFixed(1)}" y="${y + 6}" width="${width.toFixed(1)}" height="18" fill="${fill}" stroke="#fff" stroke-width="0.5"><title>${id}: ${pct(run.shares[id] ?? 0)}</title></rect>`,
      );
      x += width;
    }
    if (showRate) {
      const slowShare = run.shares[fleet.slow] ?? 0;
      out.push(
        `<text x="${shareX + shareW + 6}" y="${y + 19}" ${TEXT} font-size="11" fill="${SLOW_COLOUR}">${pct(slowShare)}</text>`,
      );
      const width = (rateW * run.summary.tasksPerSec) / maxRate;
      out.push(
        `<rect x="${rateX}" y="${y + 6}" width="${width.toFixed(1)}" height="18" fill="#9d755d"/>`,
        `<text x="${rateX + width + 6}" y="${y + 19}" ${TEXT} font-size="12" fill="#222">${run.summary.tasksPerSec.toLocaleString('en-US')} · ${ms(run.summary.p50)} / ${ms(run.summary.p99)} ms</text>`,
      );
    } else {
      out.push(
        `<text x="${shareX + shareW + 6}" y="${y + 19}" ${TEXT} font-size="12" fill="#222">busiest ${pct(run.busiestShare)} · ${run.summary.tasksPerSec.toLocaleString('en-US')} tasks/s · p99 ${ms(run.summary.p99)} ms</text>`,
      );
    }
  };
  rows.forEach((run, k) => {
    row(run, top + k * rowH, run.name, true);
  });
  out.push(
    `<line x1="${evenX}" y1="${top}" x2="${evenX}" y2="${top + rows.length * rowH}" stroke="#333" stroke-dasharray="3 3"/>`,
  );
  // The keyed runs.
  out.push(
    `<text x="20" y="${keyedTop - 16}" ${TEXT} font-size="14" font-weight="600" fill="#222">consistent-hash with ${fleet.keys.toLocaleString('en-US')} Zipf-distributed keys, every worker equally fast</text>`,
  );
  result.keyed.forEach((k, j) => {
    const y = keyedTop + 2 * j * rowH;
    row(k.bounded, y, `s = ${k.exponent}, with the bound`, false);
    row(k.unbounded, y + rowH, `s = ${k.exponent}, without it`, false);
  });
  out.push(
    `<text x="${shareX}" y="${keyedTop + keyedRows * rowH + 14}" ${TEXT} font-size="11" fill="#666">workers sorted by share, busiest first; s is the Zipf exponent (the top key carries ${result.keyed.map((k) => pct(k.topKeyShare)).join(' and ')} of the tasks)</text>`,
  );
  const fairX = shareX + shareW / ids.length;
  out.push(
    `<line x1="${fairX}" y1="${keyedTop}" x2="${fairX}" y2="${keyedTop + keyedRows * rowH}" stroke="#333" stroke-dasharray="3 3"/>`,
  );
  // Legend.
  const legendY = height - 24;
  ids.forEach((id, k) => {
    const x = 20 + k * 130;
    out.push(
      `<rect x="${x}" y="${legendY - 10}" width="12" height="12" fill="${colour(id)}"/>`,
      `<text x="${x + 18}" y="${legendY}" ${TEXT} font-size="12" fill="#444">${id}${id === fleet.slow ? ' (slow)' : ''}</text>`,
    );
  });
  out.push(
    `<text x="560" y="${legendY}" ${TEXT} font-size="12" fill="#444">dashed line: an even share</text>`,
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}
