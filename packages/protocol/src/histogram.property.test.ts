import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bucketLow,
  bucketOf,
  DurationHistogram,
  HISTOGRAM_BUCKETS,
  parseHistogramSnapshot,
} from './histogram.js';

/** The exact quantile the histogram estimates: the value of rank ⌈q·n⌉. */
function exact(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

describe('DurationHistogram', () => {
  it('puts every value in the bucket whose bounds hold it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_fffe }), (micros) => {
        const i = bucketOf(micros);
        expect(i).toBeGreaterThanOrEqual(0);
        expect(i).toBeLessThan(HISTOGRAM_BUCKETS);
        expect(bucketLow(i)).toBeLessThanOrEqual(micros);
        expect(bucketLow(i + 1)).toBeGreaterThan(micros);
      }),
    );
  });

  it('estimates percentiles within the bucket error of the exact ones', () => {
    // Sub-millisecond tasks as well as slow ones: 0 µs to an hour.
    const durations = fc.array(
      fc.oneof(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 3_600_000_000 })),
      { minLength: 1, maxLength: 400 },
    );
    fc.assert(
      fc.property(durations, fc.double({ min: 0.001, max: 1, noNaN: true }), (micros, q) => {
        const h = new DurationHistogram();
        for (const m of micros) h.record(m / 1000);
        const sorted = [...micros].sort((a, b) => a - b);
        const truth = exact(sorted, q);
        const estimate = h.quantileMicros(q);
        // Half a bucket either way: a bucket is at most 1/16 of its lower bound wide.
        expect(Math.abs(estimate - truth)).toBeLessThanOrEqual(truth / 32 + 0.5);
        const s = h.summary();
        expect(s.count).toBe(micros.length);
        expect(s.max).toBe(sorted.at(-1)! / 1000);
        expect(s.avg).toBeCloseTo(micros.reduce((a, b) => a + b, 0) / micros.length / 1000, 6);
      }),
    );
  });

  it('is empty at zero and clamps what it cannot hold', () => {
    const h = new DurationHistogram();
    expect(h.summary()).toEqual({ count: 0, p50: 0, p90: 0, p99: 0, max: 0, avg: 0 });
    h.record(-1);
    h.record(Number.NaN);
    h.record(1e12);
    expect(h.count).toBe(3);
    expect(h.summary().max).toBe(0xffff_ffff / 1000);
    expect(h.quantile(0.5)).toBe(0);
  });
});

describe('HistogramSnapshot', () => {
  const durations = fc.array(
    fc.oneof(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 3_600_000_000 })),
    { maxLength: 200 },
  );

  it('merges into the histogram of every value recorded in one place', () => {
    fc.assert(
      fc.property(durations, durations, (a, b) => {
        const left = new DurationHistogram();
        const right = new DurationHistogram();
        const whole = new DurationHistogram();
        for (const m of a) left.record(m / 1000);
        for (const m of b) right.record(m / 1000);
        for (const m of [...a, ...b]) whole.record(m / 1000);
        const merged = new DurationHistogram();
        merged.merge(parseHistogramSnapshot(JSON.parse(JSON.stringify(left.snapshot())))!);
        merged.merge(parseHistogramSnapshot(JSON.parse(JSON.stringify(right.snapshot())))!);
        expect(merged.summary()).toEqual(whole.summary());
        expect(merged.snapshot()).toEqual(whole.snapshot());
      }),
    );
  });

  it('refuses snapshots that do not hold together', () => {
    const valid = { buckets: [3, 1, 40, 2], sumMicros: 300, minMicros: 3, maxMicros: 150 };
    expect(parseHistogramSnapshot(valid)).toEqual(valid);
    expect(
      parseHistogramSnapshot({ buckets: [], sumMicros: 0, minMicros: 0, maxMicros: 0 }),
    ).toEqual({ buckets: [], sumMicros: 0, minMicros: 0, maxMicros: 0 });
    for (const bad of [
      null,
      [],
      { ...valid, buckets: [3] },
      { ...valid, buckets: [40, 1, 3, 2] },
      { ...valid, buckets: [3, 0] },
      { ...valid, buckets: [HISTOGRAM_BUCKETS, 1] },
      { ...valid, buckets: [-1, 1] },
      { ...valid, buckets: [1.5, 1] },
      { ...valid, sumMicros: -1 },
      { ...valid, minMicros: 200 },
      { ...valid, maxMicros: 2 ** 33 },
      { ...valid, maxMicros: '150' },
    ]) {
      expect(parseHistogramSnapshot(bad)).toBeUndefined();
    }
  });
});
