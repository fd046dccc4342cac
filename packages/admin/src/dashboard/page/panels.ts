/** The figures around the workers table: tiles, handlers, errors by code, durable backlog. */
import type { DashboardSnapshot, HistorySample } from '../wire.js';
import { byId, el, fillRows } from './dom.js';
import { duration, formatCount, percentiles, rate } from './format.js';

export function renderTiles(s: DashboardSnapshot, latest: HistorySample | undefined): void {
  const count = (state: string) => s.workers.filter((w) => w.state === state).length;
  const codes = Object.entries(s.errors).sort(([, a], [, b]) => b - a);
  const ran = latest?.executionP50Ms != null && latest.executionP99Ms != null;
  const tiles = [
    tile('Workers', `${count('live')} live`, `${count('missing')} missing · ${count('gone')} gone`),
    tile(
      'Throughput',
      latest?.tasksPerSecond == null ? '-' : `${rate(latest.tasksPerSecond)} tasks/s`,
      `${formatCount(s.totals.lastMinute)} in the last minute`,
    ),
    tile(
      'Execution now',
      ran ? percentiles(latest.executionP50Ms!, latest.executionP99Ms!) : '-',
      'p50 / p99 over the last second',
    ),
    tile(
      'Failed',
      formatCount(s.totals.failed),
      codes.length === 0
        ? 'no failures'
        : codes
            .slice(0, 2)
            .map(([c, n]) => `${c} ${formatCount(n)}`)
            .join(' · '),
    ),
    tile('Redelivered', formatCount(s.totals.redelivered), 'attempts after the first'),
    tile('Succeeded', formatCount(s.totals.succeeded), 'since the live workers started'),
  ];
  if (s.durable.inUse) {
    tiles.push(
      tile(
        'Durable backlog',
        formatCount(s.durable.waiting + s.durable.delayed),
        `${formatCount(s.durable.active)} active`,
      ),
    );
  }
  byId('tiles').replaceChildren(...tiles);
}

function tile(label: string, value: string, sub: string): HTMLElement {
  return el(
    'div',
    { class: 'tile', 'data-tile': label },
    el('div', { class: 'label' }, label),
    el('div', { class: 'value' }, value),
    el('div', { class: 'sub' }, sub),
  );
}

export function renderHandlers(s: DashboardSnapshot): void {
  const num = (value: string | number) => el('td', { class: 'num' }, value);
  const rows = s.handlers.map((h) => {
    const failed = Object.values(h.failed).reduce((a, b) => a + b, 0);
    const e = h.execution;
    return el(
      'tr',
      { 'data-handler': h.name },
      el('td', { class: 'mono' }, h.name),
      num(formatCount(h.succeeded)),
      el('td', { class: failed > 0 ? 'num alert' : 'num' }, formatCount(failed)),
      num(formatCount(h.redelivered)),
      num(formatCount(h.lastSecond)),
      num(formatCount(h.lastMinute)),
      num(e.count === 0 ? '-' : duration(e.p50Ms)),
      num(e.count === 0 ? '-' : duration(e.p90Ms)),
      num(e.count === 0 ? '-' : duration(e.p99Ms)),
      num(e.count === 0 ? '-' : duration(e.maxMs)),
      num(h.workers),
    );
  });
  fillRows(byId<HTMLTableElement>('handlers'), rows, 'no handler has run yet');
}

export function renderErrors(s: DashboardSnapshot): void {
  const rows = Object.entries(s.errors)
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
    .map(([code, n]) =>
      el(
        'tr',
        { 'data-code': code },
        el('td', { class: 'mono' }, code),
        el('td', { class: 'num' }, formatCount(n)),
      ),
    );
  fillRows(byId<HTMLTableElement>('errors'), rows, 'no failures');
}

export function renderDurable(s: DashboardSnapshot): void {
  const panel = byId('durable');
  panel.hidden = !s.durable.inUse;
  if (!s.durable.inUse) return;
  const figure = (label: string, n: number) =>
    el('div', { 'data-backlog': label }, formatCount(n), el('span', {}, label));
  panel
    .querySelector('.backlog')
    ?.replaceChildren(
      figure('waiting', s.durable.waiting),
      figure('delayed', s.durable.delayed),
      figure('active', s.durable.active),
    );
  const rows = s.durable.owners.map((o) =>
    el(
      'tr',
      {},
      el('td', { class: 'mono' }, o.id),
      el('td', { class: o.live ? undefined : 'alert' }, o.live ? 'live' : 'lapsed'),
      el('td', { class: 'num' }, formatCount(o.active)),
    ),
  );
  fillRows(byId<HTMLTableElement>('owners'), rows, 'no dispatcher owns durable tasks');
}
