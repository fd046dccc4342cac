import { describe, expect, it } from 'vitest';
import { formatCount, formatFailures, formatMs, plural, truncate } from './units.js';

describe('units', () => {
  it.each([
    [0, '0 ms'],
    [0.004, '0.00 ms'],
    [0.42, '0.42 ms'],
    [4.25, '4.3 ms'],
    [42.4, '42 ms'],
    [999.4, '999 ms'],
    [4_200, '4.2 s'],
    [42_000, '42 s'],
    [Number.NaN, '-'],
  ])('formatMs(%d) is %s', (ms, text) => {
    expect(formatMs(ms)).toBe(text);
  });

  it('formats counts, failures, truncation and plurals', () => {
    expect(formatCount(20_000)).toBe('20,000');
    expect(formatFailures({})).toBe('0');
    expect(formatFailures({ TIMEOUT: 0 })).toBe('0');
    expect(formatFailures({ HANDLER_ERROR: 1, TIMEOUT: 2, CANCELLED: 1 })).toBe(
      '4 (TIMEOUT 2, CANCELLED 1, HANDLER_ERROR 1)',
    );
    expect(truncate('abcdef', 6)).toBe('abcdef');
    expect(truncate('abcdefg', 6)).toBe('abcde…');
    expect(plural(1, 'worker')).toBe('1 worker');
    expect(plural(2, 'entry', 'entries')).toBe('2 entries');
  });
});
