/**
 * The dashboard's picture of the deployment at one moment, as JSON for the
 * page (wire.ts): the workers with their states (worker-states.ts), shares and
 * execution times, the fleet's figures per handler and by error code
 * (stats-rollup.ts), and the durable backlog — all from one cluster view.
 */
import type { WorkerReport } from '@ringcast/protocol';
import type { ClusterView } from '../cluster-view.js';
import { partsOf, rollUpByHandler, rollUpWorker, type StatsRollup } from '../stats-rollup.js';
import type { DashboardSnapshot, DashboardWorker, HandlerFigures, RedisStatus } from './wire.js';
import { heartbeatIntervalOf, type TrackedWorker } from './worker-states.js';

export interface SnapshotInput {
  namespace: string;
  redis: RedisStatus;
  /** The latest successful read; undefined before the first. */
  view: ClusterView | undefined;
  /** The workers to show, in order (WorkerStates.list()). */
  workers: readonly TrackedWorker[];
  /**
   * Whether durable tasks were seen since the dashboard started. Every
   * dispatcher registers as a possible owner, so owners alone do not tell.
   */
  durableSeen: boolean;
}

/** Whether `view` shows durable tasks waiting, delayed or running. */
export function durableActivity(view: ClusterView): boolean {
  const { waiting, delayed, active } = view.durable;
  return waiting + delayed + active > 0;
}

export function dashboardSnapshot(input: SnapshotInput): DashboardSnapshot {
  const { view } = input;
  const reports = (view?.workers ?? []).flatMap((w) => (w.report ? [w.report] : []));
  const handlers = [...rollUpByHandler(reports)].map(([name, r]) => handlerFigures(name, r));
  const errors: Record<string, number> = {};
  for (const h of handlers) {
    for (const [code, n] of Object.entries(h.failed)) errors[code] = (errors[code] ?? 0) + n;
  }
  const durable = view?.durable ?? { waiting: 0, delayed: 0, active: 0, owners: [] };
  return {
    namespace: input.namespace,
    redis: input.redis,
    readAt: view?.readAt ?? null,
    workers: dashboardWorkers(input.workers),
    staleEntries: view?.stale ?? 0,
    totals: {
      succeeded: sum(handlers, (h) => h.succeeded),
      failed: sum(Object.values(errors), (n) => n),
      redelivered: sum(handlers, (h) => h.redelivered),
      lastSecond: sum(handlers, (h) => h.lastSecond),
      lastMinute: sum(handlers, (h) => h.lastMinute),
    },
    errors,
    handlers,
    durable: {
      inUse: input.durableSeen,
      waiting: durable.waiting,
      delayed: durable.delayed,
      active: durable.active,
      owners: durable.owners.map((o) => ({ ...o })),
    },
  };
}

function dashboardWorkers(tracked: readonly TrackedWorker[]): DashboardWorker[] {
  // Shares are of the workers still in the ring: a gone one takes no tasks and weighs nothing.
  const totals = tracked.map(({ worker: { report } }) => report && rollUpWorker(report));
  const inRing = tracked.flatMap((t, i) => (t.state === 'gone' ? [] : [i]));
  const fleetTasks = sum(inRing, (i) => totals[i]?.throughput.lastMinute ?? 0);
  const fleetWeight = sum(inRing, (i) => tracked[i]!.worker.info.weight);
  return tracked.map(({ worker, state, goneAt }, i): DashboardWorker => {
    const { info, report } = worker;
    const total = totals[i];
    const lastMinute = total?.throughput.lastMinute ?? 0;
    const counted = state !== 'gone';
    return {
      id: worker.id,
      state,
      goneAt,
      weight: { current: info.weight, policy: worker.policyWeight ?? null },
      load: {
        concurrency: info.concurrency,
        inflight: report?.inflight ?? null,
        queued: report?.queued ?? null,
        stuckSlots: worker.heartbeat.overdue,
      },
      heartbeat: {
        ageMs: worker.heartbeatAgeMs ?? null,
        intervalMs: heartbeatIntervalOf(info) ?? null,
      },
      share: {
        lastMinute,
        tasks: counted && fleetTasks > 0 ? lastMinute / fleetTasks : null,
        weight: counted && fleetWeight > 0 ? info.weight / fleetWeight : null,
      },
      execution: {
        count: total?.duration.count ?? 0,
        p50Ms: total?.duration.p50 ?? 0,
        p99Ms: total?.duration.p99 ?? 0,
        handlers: report === undefined ? [] : handlerTimes(report),
      },
      host: info.host,
      pid: info.pid,
      version: info.version,
      startedAt: info.startedAt,
    };
  });
}

/** Per handler that ran on the worker, its execution time percentiles; by name. */
function handlerTimes(report: WorkerReport): DashboardWorker['execution']['handlers'] {
  return [...partsOf(report)]
    .filter(([, part]) => part.summary.duration.count > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, { summary }]) => ({
      name,
      count: summary.duration.count,
      p50Ms: summary.duration.p50,
      p99Ms: summary.duration.p99,
    }));
}

function handlerFigures(name: string, r: StatsRollup): HandlerFigures {
  return {
    name,
    succeeded: r.succeeded,
    failed: { ...r.failed },
    redelivered: r.redelivered,
    lastSecond: r.throughput.lastSecond,
    lastMinute: r.throughput.lastMinute,
    execution: {
      count: r.duration.count,
      p50Ms: r.duration.p50,
      p90Ms: r.duration.p90,
      p99Ms: r.duration.p99,
      maxMs: r.duration.max,
    },
    workers: r.sources,
  };
}

function sum<T>(items: readonly T[], of: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += of(item);
  return total;
}
