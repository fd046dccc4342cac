/**
 * The dashboard page: reads the history once (`/api/history`), then follows
 * the server's events (`/events`): a `snapshot` redraws the figures and the
 * workers, a `sample` extends the charts. The browser's EventSource
 * reconnects by itself if the server goes away; the page says so meanwhile.
 */
import type { DashboardHistory, DashboardSnapshot, HistorySample } from '../wire.js';
import { drawChart } from './chart.js';
import { type Point, windowOf } from './chart-scale.js';
import { byId } from './dom.js';
import { clock, duration, rate } from './format.js';
import { renderDurable, renderErrors, renderHandlers, renderTiles } from './panels.js';
import { renderWorkers } from './workers-view.js';

/** The most samples kept: the server's fifteen minutes. */
const MAX_SAMPLES = 900;

let samples: HistorySample[] = [];
let snapshot: DashboardSnapshot | undefined;

function addSamples(more: readonly HistorySample[]): void {
  const newest = samples.at(-1)?.at ?? Number.NEGATIVE_INFINITY;
  samples.push(...more.filter((s) => s.at > newest));
  if (samples.length > MAX_SAMPLES) samples = samples.slice(-MAX_SAMPLES);
  drawCharts();
}

function drawCharts(): void {
  const series = (pick: (s: HistorySample) => number | null): Point[] =>
    samples.map((s) => [s.at, pick(s)]);
  const tasks = series((s) => s.tasksPerSecond);
  const { from, to } = windowOf(tasks, Date.now());
  drawChart(
    byId<SVGSVGElement>('chart-throughput').querySelector('svg')!,
    [
      { className: 'tasks', points: tasks },
      { className: 'errors', points: series((s) => s.errorsPerSecond) },
    ],
    { from, to, format: rate },
  );
  drawChart(
    byId('chart-execution').querySelector('svg')!,
    [
      { className: 'p50', points: series((s) => s.executionP50Ms) },
      { className: 'p99', points: series((s) => s.executionP99Ms) },
    ],
    { from, to, format: duration },
  );
}

function render(s: DashboardSnapshot): void {
  snapshot = s;
  byId('namespace').textContent = s.namespace;
  byId('redis-url').textContent = s.redis.url;
  byId('read-at').textContent = s.readAt === null ? 'never' : clock(s.readAt);
  showBanner();
  renderTiles(s, samples.at(-1));
  renderWorkers(byId<HTMLTableElement>('workers'), s.workers);
  renderHandlers(s);
  renderErrors(s);
  renderDurable(s);
}

let streamLost = false;

/** The outage banner: the dashboard server gone, or Redis unreachable; hidden while all is well. */
function showBanner(): void {
  const banner = byId('banner');
  const redis = snapshot?.redis;
  let text = '';
  if (streamLost) {
    text = 'Lost the dashboard server; reconnecting…';
  } else if (redis !== undefined && !redis.up && redis.downSince !== null) {
    const shown = snapshot?.readAt == null ? '' : `; figures as read at ${clock(snapshot.readAt)}`;
    text = `Redis ${redis.url} unreachable since ${clock(redis.downSince)} (${redis.error ?? 'no answer'})${shown}. This page recovers by itself when Redis answers.`;
  }
  banner.hidden = text === '';
  banner.textContent = text;
}

function setStream(status: 'live' | 'lost'): void {
  const pill = byId('stream');
  pill.dataset['status'] = status;
  pill.textContent = status === 'live' ? 'live' : 'reconnecting…';
  streamLost = status === 'lost';
  showBanner();
}

async function loadHistory(): Promise<void> {
  try {
    const response = await fetch('/api/history', { cache: 'no-store' });
    if (response.ok) addSamples(((await response.json()) as DashboardHistory).samples);
  } catch {
    // The events bring samples too; the chart fills from them.
  }
}

function follow(): void {
  const events = new EventSource('/events');
  events.addEventListener('open', () => setStream('live'));
  events.addEventListener('error', () => setStream('lost'));
  events.addEventListener('snapshot', (event) => {
    render(JSON.parse((event as MessageEvent<string>).data) as DashboardSnapshot);
  });
  events.addEventListener('sample', (event) => {
    addSamples([JSON.parse((event as MessageEvent<string>).data) as HistorySample]);
  });
}

drawCharts();
follow();
void loadHistory();
