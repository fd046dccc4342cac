import { describe, expect, it } from 'vitest';
import { Trace } from './trace.js';

describe('Trace', () => {
  it('keeps the last events, oldest first, with times relative to the origin', () => {
    const trace = new Trace(3);
    for (let i = 0; i < 5; i++) trace.add(1_000 + i, 1_000, `event ${i}`);
    expect(trace.count).toBe(5);
    expect(trace.lines().map((l) => l.trim())).toEqual([
      '2 ms  event 2',
      '3 ms  event 3',
      '4 ms  event 4',
    ]);
  });

  it('holds fewer lines than its capacity until it fills', () => {
    const trace = new Trace(10);
    trace.add(5, 0, 'one');
    expect(trace.lines()).toHaveLength(1);
  });
});
