import { describe, expect, it } from 'vitest';
import { clusterView, liveWorker, ReportingWorker, runs } from '../testing/views.js';
import { FleetRates, IDLE_AFTER_MS } from './fleet-rates.js';

const view = (...reports: Array<ReturnType<ReportingWorker['report']>>) =>
  clusterView(
    reports.map((report, i) =>
      liveWorker(`w${i}`, { info: { incarnation: report.incarnation }, report }),
    ),
  );

describe('FleetRates', () => {
  it('has no rate from a worker it has seen once: a rate needs two reports', () => {
    const rates = new FleetRates();
    const w = new ReportingWorker('i1').run(500, ...runs(50, 'echo', 1));
    expect(rates.sample(view(w.report(1_000)), 1_000)).toEqual({
      at: 1_000,
      tasksPerSecond: 0,
      errorsPerSecond: 0,
      executionP50Ms: null,
      executionP99Ms: null,
    });
  });

  it('sums the workers’ runs and failures between their two latest reports, per second', () => {
    const rates = new FleetRates();
    const a = new ReportingWorker('a').run(500, ...runs(10, 'echo', 1));
    const b = new ReportingWorker('b');
    rates.sample(view(a.report(1_000), b.report(1_200)), 1_300);
    // a: 40 runs in 2 s, 4 of them failed; b: 30 runs in 1 s (its own interval).
    a.run(1_500, ...runs(36, 'echo', 1), ...runs(4, 'fail', 1, 'HANDLER_ERROR'));
    b.run(1_700, ...runs(30, 'echo', 1));
    const sample = rates.sample(view(a.report(3_000), b.report(2_200)), 3_100);
    expect(sample.tasksPerSecond).toBeCloseTo(20 + 30);
    expect(sample.errorsPerSecond).toBeCloseTo(2);
  });

  it('takes the percentiles of the interval’s runs only, merged over the workers', () => {
    const rates = new FleetRates();
    // Before the interval: slow runs, which must not count.
    const a = new ReportingWorker('a').run(500, ...runs(100, 'slow', 500));
    const b = new ReportingWorker('b').run(500, ...runs(100, 'slow', 500));
    rates.sample(view(a.report(1_000), b.report(1_000)), 1_000);
    a.run(1_500, ...runs(98, 'echo', 2));
    b.run(1_500, ...runs(2, 'echo', 40));
    const sample = rates.sample(view(a.report(2_000), b.report(2_000)), 2_000);
    expect(sample.executionP50Ms).toBeGreaterThan(1.9);
    expect(sample.executionP50Ms).toBeLessThan(2.1);
    // The 99th of 100 runs is one of b's two slow ones.
    expect(sample.executionP99Ms).toBeGreaterThan(38);
    expect(sample.executionP99Ms).toBeLessThanOrEqual(40);
  });

  it('keeps the rate of a report seen twice, and counts a worker silent past IDLE_AFTER_MS as idle', () => {
    const rates = new FleetRates();
    const w = new ReportingWorker('w');
    rates.sample(view(w.report(1_000)), 1_000);
    w.run(1_500, ...runs(10, 'echo', 1));
    const report = w.report(2_000);
    expect(rates.sample(view(report), 2_000).tasksPerSecond).toBeCloseTo(10);
    expect(rates.sample(view(report), 2_000 + IDLE_AFTER_MS).tasksPerSecond).toBeCloseTo(10);
    expect(rates.sample(view(report), 2_001 + IDLE_AFTER_MS)).toMatchObject({
      tasksPerSecond: 0,
      executionP50Ms: null,
    });
  });

  it('starts over with a restarted worker (a new incarnation) and forgets one that went', () => {
    const rates = new FleetRates();
    const first = new ReportingWorker('first').run(500, ...runs(1_000, 'echo', 1));
    rates.sample(view(first.report(1_000)), 1_000);
    rates.sample(view(first.report(2_000)), 2_000);
    // Its counts start from zero again: no negative rate, and no rate before its second report.
    const second = new ReportingWorker('second').run(2_500, ...runs(5, 'echo', 1));
    expect(rates.sample(view(second.report(3_000)), 3_000).tasksPerSecond).toBe(0);
    second.run(3_500, ...runs(5, 'echo', 1));
    expect(rates.sample(view(second.report(4_000)), 4_000).tasksPerSecond).toBeCloseTo(5);
    // The first one's readings went with it: back with the same incarnation, it starts afresh.
    expect(rates.sample(view(first.report(5_000)), 5_000).tasksPerSecond).toBe(0);
  });
});
