import { describe, expect, it } from 'vitest';
import { clusterView, liveWorker, ReportingWorker, runs } from '../testing/views.js';
import { fleetMetrics } from './fleet-metrics.js';
import { dashboardSnapshot } from './snapshot.js';
import type { DashboardSnapshot } from './wire.js';
import { WorkerStates } from './worker-states.js';

function snapshot(): DashboardSnapshot {
  const report = new ReportingWorker('a-1')
    .run(1_000, ...runs(3, 'echo', 2), ...runs(2, 'echo', 2, 'TIMEOUT'))
    .run(1_000, { handler: 'echo', ms: 2, redelivered: true })
    .report(2_000, { inflight: 4 });
  const states = new WorkerStates();
  states.observe(clusterView([liveWorker('a'), liveWorker('z')]), 1_000);
  const view = clusterView(
    [
      liveWorker('a', { report, info: { weight: 3 }, policy: 3, ageMs: 250 }),
      liveWorker('b', { ageMs: 2_000 }),
    ],
    { durable: { waiting: 5, delayed: 1, active: 2, owners: [] } },
  );
  states.observe(view, 2_000);
  return dashboardSnapshot({
    namespace: 'ns',
    redis: { url: 'redis://h:1', up: true, error: null, downSince: null },
    view,
    workers: states.list(),
    durableSeen: true,
  });
}

/** The sample lines of a metric (not its HELP and TYPE). */
function lines(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

/** Each metric's samples, less its name: labels and value. */
const EXPECTED: Array<[string, string[]]> = [
  ['ringcast_dashboard_redis_up', [' 1']],
  ['ringcast_fleet_workers', ['{state="live"} 1', '{state="missing"} 1', '{state="gone"} 1']],
  ['ringcast_fleet_worker_live', ['{worker="a"} 1', '{worker="b"} 0']],
  ['ringcast_fleet_worker_weight', ['{worker="a"} 3', '{worker="b"} 1']],
  ['ringcast_fleet_worker_policy_weight', ['{worker="a"} 3']],
  ['ringcast_fleet_worker_inflight', ['{worker="a"} 4']],
  ['ringcast_fleet_worker_stuck_slots', ['{worker="a"} 0', '{worker="b"} 0']],
  ['ringcast_fleet_worker_heartbeat_age_seconds', ['{worker="a"} 0.25', '{worker="b"} 2']],
  [
    'ringcast_fleet_handler_tasks',
    ['{handler="echo",outcome="ok"} 4', '{handler="echo",outcome="TIMEOUT"} 2'],
  ],
  ['ringcast_fleet_handler_redelivered', ['{handler="echo"} 1']],
  [
    'ringcast_fleet_durable_tasks',
    ['{state="waiting"} 5', '{state="delayed"} 1', '{state="active"} 2'],
  ],
];

describe('fleetMetrics', () => {
  it.each(EXPECTED)('renders %s from the latest snapshot', async (name, samples) => {
    const text = await fleetMetrics(snapshot).text();
    expect(lines(text, name)).toEqual(samples.map((sample) => `${name}${sample}`));
  });

  it("renders each handler's execution time quantiles, in seconds", async () => {
    const quantiles = lines(
      await fleetMetrics(snapshot).text(),
      'ringcast_fleet_handler_execution_seconds',
    );
    expect(quantiles.map((l) => l.replace(/^[^{]*|\s.*$/g, ''))).toEqual([
      '{handler="echo",quantile="0.5"}',
      '{handler="echo",quantile="0.9"}',
      '{handler="echo",quantile="0.99"}',
    ]);
    expect(Number(quantiles[0]?.split(' ')[1])).toBeCloseTo(0.002, 3);
  });

  it('follows the snapshot: a worker that went leaves no series, an outage shows', async () => {
    let latest = snapshot();
    const metrics = fleetMetrics(() => latest);
    expect(metrics.contentType).toMatch(/^text\/plain/);
    latest = {
      ...latest,
      workers: latest.workers.slice(0, 1),
      redis: { ...latest.redis, up: false },
    };
    const text = await metrics.text();
    expect(lines(text, 'ringcast_fleet_worker_weight')).toEqual([
      'ringcast_fleet_worker_weight{worker="a"} 3',
    ]);
    expect(lines(text, 'ringcast_dashboard_redis_up')).toEqual(['ringcast_dashboard_redis_up 0']);
  });
});
