import { describe, expect, it } from 'vitest';
import { encodeHeartbeat, parseHeartbeat, usableCapacity } from './heartbeat.js';

describe('heartbeat values', () => {
  it('is the bare incarnation while all is well, as before the format had fields', () => {
    const beat = { incarnation: 'abc_-123', blockedMs: 0, stalledMs: 0, overdue: 0 };
    expect(encodeHeartbeat(beat)).toBe('abc_-123');
    expect(parseHeartbeat('abc_-123')).toEqual(beat);
  });

  it.each([
    [{ blockedMs: 5_000, stalledMs: 0, overdue: 0 }, 'inc;b=5000'],
    [{ blockedMs: 0, stalledMs: 1_200, overdue: 0 }, 'inc;s=1200'],
    [{ blockedMs: 0, stalledMs: 0, overdue: 2 }, 'inc;o=2'],
    [{ blockedMs: 1, stalledMs: 2, overdue: 3 }, 'inc;b=1;s=2;o=3'],
  ])('round-trips %o', (fields, encoded) => {
    const beat = { incarnation: 'inc', ...fields };
    expect(encodeHeartbeat(beat)).toBe(encoded);
    expect(parseHeartbeat(encoded)).toEqual(beat);
  });

  it('clamps what it writes: no fractions, no negatives, nothing huge', () => {
    expect(
      encodeHeartbeat({ incarnation: 'i', blockedMs: 12.7, stalledMs: -4, overdue: 1e12 }),
    ).toBe('i;b=12;o=1000000000');
  });

  it('ignores unknown and malformed fields, keeping the worker alive', () => {
    expect(parseHeartbeat('inc;b=10;x=5;o=abc;s=;=3;bb=1;o=-1;s=20')).toEqual({
      incarnation: 'inc',
      blockedMs: 10,
      stalledMs: 20,
      overdue: 0,
    });
    expect(parseHeartbeat('inc;b=99999999999')).toMatchObject({ blockedMs: 0 });
  });

  it.each([null, undefined, '', ';b=1', 'x'.repeat(257)])('reads %j as no heartbeat', (value) => {
    expect(parseHeartbeat(value)).toBeUndefined();
  });
});

describe('usableCapacity', () => {
  it.each([
    // concurrency, maxQueue, overdue, usable
    [16, 16, 0, 32],
    [2, 2, 1, 2],
    [2, 2, 2, 0],
    [2, 2, 5, 0],
    [4, 0, 1, 3],
    [3, 16, 1, 13],
  ])('concurrency %i, maxQueue %i, %i overdue: %i', (c, q, o, usable) => {
    expect(usableCapacity(c, q, o)).toBe(usable);
  });
});
