/**
 * The dashboard process's Prometheus metrics: the fleet as its latest
 * snapshot shows it, for a Prometheus that scrapes one place instead of every
 * worker. Read from the snapshot when scraped (a scrape never reaches Redis);
 * series of workers and handlers that went are dropped. The handler figures
 * are sums over the live workers since each started, so they fall when a
 * worker goes: gauges, not counters (a worker's own
 * `ringcast_worker_tasks_total` is the counter to rate()).
 */
import { Gauge, Registry } from 'prom-client';
import type { DashboardSnapshot, WorkerState } from './wire.js';

export interface FleetMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** The registry's text. */
  text(): Promise<string>;
}

const STATES: readonly WorkerState[] = ['live', 'missing', 'gone'];
const QUANTILES = [
  ['0.5', 'p50Ms'],
  ['0.9', 'p90Ms'],
  ['0.99', 'p99Ms'],
] as const;

export function fleetMetrics(latest: () => DashboardSnapshot): FleetMetrics {
  const registry = new Registry();
  /** A gauge set afresh from the snapshot at every scrape. */
  const gauge = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (set: (labels: Record<L, string>, value: number) => void, s: DashboardSnapshot) => void,
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        fill((labels, value) => this.set(labels as never, value), latest());
      },
    });
  const inRing = (s: DashboardSnapshot) => s.workers.filter((w) => w.state !== 'gone');

  gauge(
    'ringcast_dashboard_redis_up',
    'Whether the latest read of Redis succeeded (1) or not (0).',
    [],
    (set, s) => set({}, s.redis.up ? 1 : 0),
  );
  gauge(
    'ringcast_fleet_workers',
    'Workers shown, by state: live, missing (heartbeat late), gone (in the last minute).',
    ['state'],
    (set, s) => {
      for (const state of STATES) set({ state }, s.workers.filter((w) => w.state === state).length);
    },
  );
  gauge(
    'ringcast_fleet_worker_live',
    'Per worker: 1 while its heartbeat is current, 0 while it is late (missing).',
    ['worker'],
    (set, s) => {
      for (const w of inRing(s)) set({ worker: w.id }, w.state === 'live' ? 1 : 0);
    },
  );
  gauge(
    'ringcast_fleet_worker_weight',
    'Per worker: the weight dispatchers give it now.',
    ['worker'],
    (set, s) => {
      for (const w of inRing(s)) set({ worker: w.id }, w.weight.current);
    },
  );
  gauge(
    'ringcast_fleet_worker_policy_weight',
    'Per worker the operator set a weight for (ringcast reweight): that weight.',
    ['worker'],
    (set, s) => {
      for (const w of inRing(s))
        if (w.weight.policy !== null) set({ worker: w.id }, w.weight.policy);
    },
  );
  gauge(
    'ringcast_fleet_worker_inflight',
    'Per worker: handlers running, as of its latest stats report.',
    ['worker'],
    (set, s) => {
      for (const w of inRing(s))
        if (w.load.inflight !== null) set({ worker: w.id }, w.load.inflight);
    },
  );
  gauge(
    'ringcast_fleet_worker_stuck_slots',
    "Per worker: slots held by handlers past their task's deadline.",
    ['worker'],
    (set, s) => {
      for (const w of inRing(s)) set({ worker: w.id }, w.load.stuckSlots);
    },
  );
  gauge(
    'ringcast_fleet_worker_heartbeat_age_seconds',
    'Per worker: time since its heartbeat was last written.',
    ['worker'],
    (set, s) => {
      for (const w of inRing(s))
        if (w.heartbeat.ageMs !== null) set({ worker: w.id }, w.heartbeat.ageMs / 1000);
    },
  );
  gauge(
    'ringcast_fleet_handler_tasks',
    'Per handler and outcome (ok or an error code): runs summed over the live workers since each started.',
    ['handler', 'outcome'],
    (set, s) => {
      for (const h of s.handlers) {
        set({ handler: h.name, outcome: 'ok' }, h.succeeded);
        for (const [outcome, n] of Object.entries(h.failed)) set({ handler: h.name, outcome }, n);
      }
    },
  );
  gauge(
    'ringcast_fleet_handler_redelivered',
    'Per handler: outcomes of attempts after the first, summed over the live workers.',
    ['handler'],
    (set, s) => {
      for (const h of s.handlers) set({ handler: h.name }, h.redelivered);
    },
  );
  gauge(
    'ringcast_fleet_handler_execution_seconds',
    "Per handler: execution time quantiles over the live workers' merged histograms.",
    ['handler', 'quantile'],
    (set, s) => {
      for (const h of s.handlers) {
        if (h.execution.count === 0) continue;
        for (const [quantile, key] of QUANTILES)
          set({ handler: h.name, quantile }, h.execution[key] / 1000);
      }
    },
  );
  gauge(
    'ringcast_fleet_durable_tasks',
    'Durable tasks not finished, by state: waiting (backlog), delayed, active (claimed by a dispatcher).',
    ['state'],
    (set, s) => {
      set({ state: 'waiting' }, s.durable.waiting);
      set({ state: 'delayed' }, s.durable.delayed);
      set({ state: 'active' }, s.durable.active);
    },
  );

  return { registry, contentType: registry.contentType, text: () => registry.metrics() };
}
