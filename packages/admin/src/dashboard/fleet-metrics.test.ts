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

describe('fleetMetrics', () => {
  it('renders the fleet from the latest snapshot under ringcast_fleet_* names', async () => {
    let latest = snapshot();
    const metrics = fleetMetrics(() => latest);
    const text = await metrics.text();
    expect(metrics.contentType).toMatch(/^text\/plain/);
    expect(lines(text, 'ringcast_dashboard_redis_up')).toEqual(['ringcast_dashboard_redis_up 1']);
    expect(lines(text, 'ringcast_fleet_workers')).toEqual([
      'ringcast_fleet_workers{state="live"} 1',
      'ringcast_fleet_workers{state="missing"} 1',
      'ringcast_fleet_workers{state="gone"} 1',
    ]);
    expect(lines(text, 'ringcast_fleet_worker_live')).toEqual([
      'ringcast_fleet_worker_live{worker="a"} 1',
      'ringcast_fleet_worker_live{worker="b"} 0',
    ]);
    expect(lines(text, 'ringcast_fleet_worker_weight')).toEqual([
      'ringcast_fleet_worker_weight{worker="a"} 3',
      'ringcast_fleet_worker_weight{worker="b"} 1',
    ]);
    expect(lines(text, 'ringcast_fleet_worker_policy_weight')).toEqual([
      'ringcast_fleet_worker_policy_weight{worker="a"} 3',
    ]);
    expect(lines(text, 'ringcast_fleet_worker_inflight')).toEqual([
      'ringcast_fleet_worker_inflight{worker="a"} 4',
    ]);
    expect(lines(text, 'ringcast_fleet_worker_stuck_slots')).toHaveLength(2);
    expect(lines(text, 'ringcast_fleet_worker_heartbeat_age_seconds')).toEqual([
      'ringcast_fleet_worker_heartbeat_age_seconds{worker="a"} 0.25',
      'ringcast_fleet_worker_heartbeat_age_seconds{worker="b"} 2',
    ]);
    expect(lines(text, 'ringcast_fleet_handler_tasks')).toEqual([
      'ringcast_fleet_handler_tasks{handler="echo",outcome="ok"} 4',
      'ringcast_fleet_handler_tasks{handler="echo",outcome="TIMEOUT"} 2',
    ]);
    expect(lines(text, 'ringcast_fleet_handler_redelivered')).toEqual([
      'ringcast_fleet_handler_redelivered{handler="echo"} 1',
    ]);
    const quantiles = lines(text, 'ringcast_fleet_handler_execution_seconds');
    expect(quantiles.map((l) => l.replace(/ .*/, ''))).toEqual([
      'ringcast_fleet_handler_execution_seconds{handler="echo",quantile="0.5"}',
      'ringcast_fleet_handler_execution_seconds{handler="echo",quantile="0.9"}',
      'ringcast_fleet_handler_execution_seconds{handler="echo",quantile="0.99"}',
    ]);
    expect(Number(quantiles[0]?.split(' ')[1])).toBeCloseTo(0.002, 3);
    expect(lines(text, 'ringcast_fleet_durable_tasks')).toEqual([
      'ringcast_fleet_durable_tasks{state="waiting"} 5',
      'ringcast_fleet_durable_tasks{state="delayed"} 1',
      'ringcast_fleet_durable_tasks{state="active"} 2',
    ]);

    // A worker that went leaves no series behind; an outage shows as redis_up 0.
    latest = {
      ...latest,
      workers: latest.workers.slice(0, 1),
      redis: { ...latest.redis, up: false },
    };
    const later = await metrics.text();
    expect(lines(later, 'ringcast_fleet_worker_weight')).toEqual([
      'ringcast_fleet_worker_weight{worker="a"} 3',
    ]);
    expect(lines(later, 'ringcast_dashboard_redis_up')).toEqual(['ringcast_dashboard_redis_up 0']);
  });
});
