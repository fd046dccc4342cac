import { describe, expect, it } from 'vitest';
import { FinishedAttempts } from './finished.js';

describe('FinishedAttempts', () => {
  it('returns what was recorded', () => {
    const cache = new FinishedAttempts(10, 1000, 0);
    cache.add('a', '{"x":1}', 0);
    expect(cache.get('a', 5)).toBe('{"x":1}');
    expect(cache.get('b', 5)).toBeUndefined();
  });

  it('keeps at least half its size limit of the newest entries, and never more than the limit', () => {
    const cache = new FinishedAttempts(100, 1_000_000, 0);
    for (let i = 0; i < 10_000; i++) {
      cache.add(`t${i}`, String(i), i);
      expect(cache.size).toBeLessThanOrEqual(100);
    }
    for (let i = 10_000 - 50; i < 10_000; i++) expect(cache.get(`t${i}`, 10_000)).toBe(String(i));
    expect(cache.get('t9899', 10_000)).toBeUndefined();
  });

  it('keeps entries for at least half its age limit', () => {
    const cache = new FinishedAttempts(10, 100, 0);
    cache.add('early', 'e', 0);
    cache.add('late', 'l', 49);
    expect(cache.get('early', 50)).toBe('e');
    expect(cache.get('late', 99)).toBe('l');
  });

  it('forgets entries older than its age limit, with or without new entries', () => {
    const cache = new FinishedAttempts(10, 100, 0);
    cache.add('old', 'o', 0);
    cache.add('new', 'n', 90);
    expect(cache.get('old', 101)).toBeUndefined();
    expect(cache.get('new', 101)).toBe('n');
    expect(cache.get('new', 191)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('replaces the reply of a token recorded twice', () => {
    const cache = new FinishedAttempts(10, 1000, 0);
    cache.add('a', 'first', 0);
    cache.add('a', 'second', 1);
    expect(cache.get('a', 2)).toBe('second');
  });
});
