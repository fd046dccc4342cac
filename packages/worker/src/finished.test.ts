import { describe, expect, it } from 'vitest';
import { FinishedAttempts } from './finished.js';

describe('FinishedAttempts', () => {
  it('returns what was recorded', () => {
    const cache = new FinishedAttempts(10, 1000);
    cache.add('a', 'd1', '{"x":1}', 0);
    expect(cache.get('a', 5)).toEqual({ replyTo: 'd1', encoded: '{"x":1}', at: 0 });
    expect(cache.get('b', 5)).toBeUndefined();
  });

  it('evicts the oldest entries beyond its size', () => {
    const cache = new FinishedAttempts(3, 1000);
    for (const token of ['a', 'b', 'c', 'd']) cache.add(token, 'd', token, 0);
    expect(cache.size).toBe(3);
    expect(cache.get('a', 0)).toBeUndefined();
    expect(cache.get('d', 0)?.encoded).toBe('d');
  });

  it('forgets entries older than its age limit', () => {
    const cache = new FinishedAttempts(10, 100);
    cache.add('old', 'd', 'o', 0);
    cache.add('new', 'd', 'n', 90);
    expect(cache.get('old', 150)).toBeUndefined();
    expect(cache.get('new', 150)?.encoded).toBe('n');
    expect(cache.size).toBe(1);
  });

  it('stays bounded and evicts in finishing order across many wraps of its ring', () => {
    const cache = new FinishedAttempts(100, 1_000_000);
    for (let i = 0; i < 10_000; i++) cache.add(`t${i}`, 'd', String(i), i);
    expect(cache.size).toBe(100);
    expect(cache.get('t9899', 10_000)).toBeUndefined();
    expect(cache.get('t9900', 10_000)?.encoded).toBe('9900');
    expect(cache.get('t9999', 10_000)?.encoded).toBe('9999');
  });
});
