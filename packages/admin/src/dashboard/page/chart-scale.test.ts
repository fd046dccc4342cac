import { describe, expect, it } from 'vitest';
import {
  ago,
  linePath,
  MIN_WINDOW_MS,
  niceCeiling,
  type Point,
  timeTicks,
  valueTicks,
  windowOf,
} from './chart-scale.js';

describe('niceCeiling', () => {
  it.each([
    [0, 1],
    [-3, 1],
    [Number.NaN, 1],
    [0.7, 1],
    [1, 1],
    [1.2, 2],
    [2.2, 2.5],
    [3, 5],
    [7, 10],
    [404, 500],
    [1_001, 2_000],
    [0.042, 0.05],
  ])('rounds %j up to %j', (value, nice) => {
    expect(niceCeiling(value)).toBeCloseTo(nice, 10);
  });
});

describe('ticks', () => {
  it('spaces values evenly from 0 to the top', () => {
    expect(valueTicks(500)).toEqual([0, 125, 250, 375, 500]);
  });

  it('counts time back from now in round steps, about four over the window', () => {
    expect(timeTicks(0, 60_000)).toEqual([0, 15_000, 30_000, 45_000, 60_000]);
    expect(timeTicks(0, 15 * 60_000)).toEqual([0, 300_000, 600_000, 900_000]);
    expect(timeTicks(1_000, 121_000)).toEqual([1_000, 31_000, 61_000, 91_000, 121_000]);
    expect([ago(0), ago(15_000), ago(300_000)]).toEqual(['now', '-15 s', '-5 min']);
  });
});

describe('windowOf', () => {
  it('spans the samples, at least a minute, ending at the newest', () => {
    const points: Point[] = [
      [100_000, 1],
      [110_000, 2],
    ];
    expect(windowOf(points, 999_999)).toEqual({ from: 110_000 - MIN_WINDOW_MS, to: 110_000 });
    expect(windowOf([[0, 1], ...points], 0)).toEqual({ from: 0, to: 110_000 });
    expect(windowOf([], 5_000)).toEqual({ from: 5_000 - MIN_WINDOW_MS, to: 5_000 });
  });
});

describe('linePath', () => {
  it('draws through the values and lifts the pen over a gap', () => {
    const points: Point[] = [
      [0, 0],
      [1, 2],
      [2, null],
      [3, 4],
      [4, 1],
    ];
    expect(
      linePath(
        points,
        (t) => t * 10,
        (v) => 100 - v,
      ),
    ).toBe('M0.0 100.0L10.0 98.0M30.0 96.0L40.0 99.0');
    expect(
      linePath(
        [[0, null]],
        (t) => t,
        (v) => v,
      ),
    ).toBe('');
  });
});
