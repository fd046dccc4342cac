import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketLow, bucketOf, DurationHistogram, HISTOGRAM_BUCKETS } from './histogram.js';

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
