import { describe, expect, it } from 'vitest';
import { clusterView, liveWorker, ReportingWorker, runs } from '../testing/views.js';
import { dashboardSnapshot, durableActivity } from './snapshot.js';
import type { RedisStatus } from './wire.js';
import { WorkerStates } from './worker-states.js';

const redis: RedisStatus = { url: 'redis://***@h:1', up: true, error: null, downSince: null };

describe('dashboardSnapshot', () => {
  const a = new ReportingWorker('a-1').run(
    5_000,
    ...runs(30, 'echo', 1),
    ...runs(10, 'sleep', 20),
    { handler: 'echo', ms: 1, redelivered: true },
  );
  const b = new ReportingWorker('b-1').run(
    5_000,
    ...runs(19, 'echo', 2),
    ...runs(2, 'echo', 2, 'TIMEOUT'),
    ...runs(3, 'fail', 1, 'HANDLER_ERROR'),
  );
  const workers = [
    liveWorker('a', { report: a.report(6_000), info: { weight: 3 }, policy: 3 }),
    liveWorker('b', { report: b.report(6_000, { inflight: 2, queued: 1 }), ageMs: 1_700 }),
    liveWorker('c', { info: { weight: 2 }, policy: 5 }),
  ];

  function snapshotOf(view = clusterView(workers, { stale: 1 }), durableSeen = false) {
    const states = new WorkerStates();
    states.observe(view, view.readAt);
    return dashboardSnapshot({ namespace: 'ns', redis, view, workers: states.list(), durableSeen });
  }

  it('shows each worker with its state, weights, load, heartbeat and execution times', () => {
    const s = snapshotOf();
    expect(s.workers.map((w) => [w.id, w.state])).toEqual([
      ['a', 'live'],
      ['c', 'live'],
      ['b', 'missing'],
    ]);
    const [wa, wc, wb] = s.workers;
    expect(wa).toMatchObject({
      weight: { current: 3, policy: 3 },
      load: { concurrency: 8, inflight: 0, queued: 0, stuckSlots: 0 },
      heartbeat: { ageMs: 100, intervalMs: 1_000 },
      execution: { count: 41 },
      host: 'host-a',
      pid: 100,
      version: '0.1.0',
    });
    expect(wa?.execution.handlers.map((h) => [h.name, h.count])).toEqual([
      ['echo', 31],
      ['sleep', 10],
    ]);
    expect(wa?.execution.handlers[1]?.p50Ms).toBeCloseTo(20, 0);
    expect(wb).toMatchObject({ load: { inflight: 2, queued: 1 }, heartbeat: { ageMs: 1_700 } });
    expect(wc).toMatchObject({
      weight: { current: 2, policy: 5 },
      load: { inflight: null, queued: null },
      execution: { count: 0, handlers: [] },
    });
  });

  it("gives each worker its share of the last minute's tasks beside its share of the weight", () => {
    const s = snapshotOf();
    const share = Object.fromEntries(s.workers.map((w) => [w.id, w.share]));
    expect(share['a']).toEqual({ lastMinute: 41, tasks: 41 / 65, weight: 3 / 6 });
    expect(share['b']).toEqual({ lastMinute: 24, tasks: 24 / 65, weight: 1 / 6 });
    expect(share['c']).toEqual({ lastMinute: 0, tasks: 0, weight: 2 / 6 });
  });

  it('counts a gone worker in no share, and keeps its last figures', () => {
    const states = new WorkerStates();
    states.observe(clusterView(workers), 1_000);
    const view = clusterView(workers.slice(0, 1));
    states.observe(view, 2_000);
    const s = dashboardSnapshot({
      namespace: 'ns',
      redis,
      view,
      workers: states.list(),
      durableSeen: false,
    });
    const gone = s.workers.filter((w) => w.state === 'gone');
    expect(gone.map((w) => [w.id, w.goneAt, w.share.tasks, w.share.weight])).toEqual([
      ['b', 2_000, null, null],
      ['c', 2_000, null, null],
    ]);
    expect(gone[0]?.execution.count).toBe(24);
    expect(s.workers[0]?.share).toEqual({ lastMinute: 41, tasks: 1, weight: 1 });
    // The fleet's figures are the live workers': a gone worker takes its counts along.
    expect(s.totals.succeeded).toBe(41);
  });

  it('sums the fleet per handler and by error code, with redeliveries and throughput', () => {
    const s = snapshotOf();
    expect(s.totals).toEqual({
      succeeded: 60,
      failed: 5,
      redelivered: 1,
      // The runs ended at 5 s; the reports, written at 6 s, count them in their last whole second.
      lastSecond: 65,
      lastMinute: 65,
    });
    expect(s.errors).toEqual({ TIMEOUT: 2, HANDLER_ERROR: 3 });
    expect(s.handlers.map((h) => [h.name, h.succeeded, h.failed, h.workers])).toEqual([
      ['echo', 50, { TIMEOUT: 2 }, 2],
      ['fail', 0, { HANDLER_ERROR: 3 }, 1],
      ['sleep', 10, {}, 1],
    ]);
    const echo = s.handlers[0]!;
    expect(echo.execution.count).toBe(52);
    expect(echo.execution.p50Ms).toBeGreaterThan(0.9);
    expect(echo.execution.p99Ms).toBeCloseTo(2, 0);
    expect(s.staleEntries).toBe(1);
    expect(s.readAt).toBe(10_000);
  });

  it('shows the durable backlog once durable tasks were seen', () => {
    const durable = {
      waiting: 4,
      delayed: 2,
      active: 3,
      owners: [{ id: 'd1', live: true, active: 3 }],
    };
    const view = clusterView([], { durable });
    expect(durableActivity(view)).toBe(true);
    expect(durableActivity(clusterView([]))).toBe(false);
    expect(snapshotOf(view, true).durable).toEqual({ inUse: true, ...durable });
    expect(snapshotOf(view, false).durable.inUse).toBe(false);
  });

  it('is empty, not broken, before the first read', () => {
    const s = dashboardSnapshot({
      namespace: 'ns',
      redis: { ...redis, up: false },
      view: undefined,
      workers: [],
      durableSeen: false,
    });
    expect(s).toMatchObject({
      readAt: null,
      workers: [],
      handlers: [],
      errors: {},
      staleEntries: 0,
    });
    expect(s.totals.succeeded).toBe(0);
  });
});
