import { DurationHistogram, HandlerStatsBook, type WorkerReport } from '@ringcast/protocol';
import { describe, expect, it } from 'vitest';
import { rollUp, rollUpByHandler, rollUpWorker } from './stats-rollup.js';

const NOW = 1_700_000_000_000;

/** A worker's report after the runs given: `[handler, ms, failure code?, redelivered?]`. */
function report(
  incarnation: string,
  runs: Array<[string, number, string?, boolean?]>,
  options: { histograms?: boolean } = {},
): WorkerReport {
  const book = new HandlerStatsBook();
  for (const [handler, ms, code, redelivered] of runs) {
    book.of(handler).record(ms, code, redelivered ?? false, NOW - 500);
  }
  const out: WorkerReport = { incarnation, at: NOW, handlers: book.summary(NOW) };
  if (options.histograms !== false) out.histograms = book.histograms();
  return out;
}

describe('rollUpByHandler', () => {
  it('adds counts, failures by code, redeliveries and throughput over workers', () => {
    const a = report('a', [
      ['echo', 1],
      ['echo', 2, 'TIMEOUT'],
      ['hash', 5, undefined, true],
    ]);
    const b = report('b', [
      ['echo', 3, 'HANDLER_ERROR'],
      ['echo', 4, 'TIMEOUT', true],
    ]);
    const byHandler = rollUpByHandler([a, b]);
    expect([...byHandler.keys()]).toEqual(['echo', 'hash']);
    expect(byHandler.get('echo')).toMatchObject({
      succeeded: 1,
      failed: { TIMEOUT: 2, HANDLER_ERROR: 1 },
      redelivered: 1,
      throughput: { lastSecond: 4, lastMinute: 4 },
      sources: 2,
      withoutHistogram: 0,
    });
    expect(byHandler.get('hash')).toMatchObject({ succeeded: 1, redelivered: 1, sources: 1 });
  });

  it('takes percentiles from the merged histograms, not from an average of percentiles', () => {
    // One worker runs 90 fast tasks, the other 10 slow ones: the fleet's p50 is fast, its p99 slow.
    const fast = report(
      'fast',
      Array.from({ length: 90 }, () => ['job', 1] as [string, number]),
    );
    const slow = report(
      'slow',
      Array.from({ length: 10 }, () => ['job', 1000] as [string, number]),
    );
    const whole = new DurationHistogram();
    for (let i = 0; i < 90; i++) whole.record(1);
    for (let i = 0; i < 10; i++) whole.record(1000);
    const job = rollUpByHandler([fast, slow]).get('job')!;
    expect(job.duration).toEqual(whole.summary());
    // Within the histogram's bucket error of 1 ms and 1 s; an average of p99s would be ~500 ms.
    expect(job.duration.p50).toBeCloseTo(1, 1);
    expect(job.duration.p99).toBeGreaterThan(970);
  });

  it('counts a worker without histograms in count, avg and max, not in the percentiles', () => {
    const old = report('old', [['job', 100]], { histograms: false });
    const current = report('new', [
      ['job', 1],
      ['job', 3],
    ]);
    const job = rollUpByHandler([old, current]).get('job')!;
    expect(job.withoutHistogram).toBe(1);
    expect(job.duration.count).toBe(3);
    expect(job.duration.max).toBe(100);
    expect(job.duration.avg).toBeCloseTo(104 / 3, 9);
    expect(job.duration.p99).toBe(3);
  });
});

describe('rollUp', () => {
  it('is zeros for no parts', () => {
    expect(rollUp([])).toEqual({
      succeeded: 0,
      failed: {},
      redelivered: 0,
      throughput: { lastSecond: 0, lastMinute: 0 },
      duration: { count: 0, p50: 0, p90: 0, p99: 0, max: 0, avg: 0 },
      sources: 0,
      withoutHistogram: 0,
    });
  });

  it('keeps a failure code named like a prototype property as a count', () => {
    const r = report('a', [['job', 1, '__proto__']]);
    expect(Object.entries(rollUpWorker(r).failed)).toEqual([['__proto__', 1]]);
  });
});

describe('rollUpWorker', () => {
  it("sums a worker's handlers into its whole load", () => {
    const r = report('a', [
      ['echo', 1],
      ['hash', 9, 'TIMEOUT'],
    ]);
    expect(rollUpWorker(r)).toMatchObject({
      succeeded: 1,
      failed: { TIMEOUT: 1 },
      throughput: { lastMinute: 2 },
      duration: { count: 2, max: 9 },
      sources: 2,
    });
  });
});
