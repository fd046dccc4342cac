import { describe, expect, it } from 'vitest';
import { FinishedAttempts, hash } from './finished.js';

const KiB = 1024;

describe('FinishedAttempts', () => {
  it('returns what was recorded, and nothing for an unknown token', () => {
    const cache = new FinishedAttempts(64 * KiB, 1000);
    cache.add('a', '{"x":1}', 0);
    expect(cache.get('a', 5)).toBe('{"x":1}');
    expect(cache.get('b', 5)).toBeUndefined();
  });

  it('round-trips tokens and replies outside ASCII', () => {
    const cache = new FinishedAttempts(64 * KiB, 1000);
    cache.add('tök-😀', '{"v":"é✓😀"}', 0);
    expect(cache.get('tök-😀', 1)).toBe('{"v":"é✓😀"}');
  });

  it('replaces the reply of a token recorded twice', () => {
    const cache = new FinishedAttempts(64 * KiB, 1000);
    cache.add('a', 'first', 0);
    cache.add('a', 'second', 1);
    expect(cache.get('a', 2)).toBe('second');
  });

  it('stays within its byte budget: old replies are overwritten, never returned garbled', () => {
    const cache = new FinishedAttempts(4 * KiB, 1_000_000);
    const reply = (i: number) => `{"i":${i},"pad":"${'x'.repeat(i % 50)}"}`;
    for (let i = 0; i < 5_000; i++) cache.add(`t${i}`, reply(i), i);
    expect(cache.capacity).toBe(4 * KiB);
    let found = 0;
    for (let i = 0; i < 5_000; i++) {
      const got = cache.get(`t${i}`, 5_000);
      if (got === undefined) continue;
      found++;
      expect(got).toBe(reply(i));
    }
    expect(found).toBeLessThan(100);
    for (let i = 4_990; i < 5_000; i++) expect(cache.get(`t${i}`, 5_000)).toBe(reply(i));
    expect(cache.get('t0', 5_000)).toBeUndefined();
  });

  it('returns a reply up to its age limit and never past it', () => {
    const cache = new FinishedAttempts(64 * KiB, 100);
    cache.add('a', 'x', 0);
    expect(cache.get('a', 100)).toBe('x');
    expect(cache.get('a', 101)).toBeUndefined();
  });

  it('does not keep a reply too large for its ring, nor answer with an older one', () => {
    const cache = new FinishedAttempts(4 * KiB, 1000);
    cache.add('small', 'ok', 0);
    cache.add('big', 'old', 0);
    cache.add('big', 'y'.repeat(2 * KiB), 1);
    expect(cache.get('big', 2)).toBeUndefined();
    expect(cache.get('small', 2)).toBe('ok');
  });

  it('tells apart tokens that share an index slot', () => {
    // 64 KiB of ring gives 2048 slots: find two tokens in the same one.
    const bySlot = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const token = `tok-${i}`;
      const other = bySlot.get(hash(token) & 2047);
      if (other !== undefined) pair = [other, token];
      bySlot.set(hash(token) & 2047, token);
    }
    const [first, second] = pair;
    const cache = new FinishedAttempts(64 * KiB, 1000);
    cache.add(first, 'reply of first', 0);
    expect(cache.get(second, 1)).toBeUndefined();
    cache.add(second, 'reply of second', 1);
    expect(cache.get(second, 2)).toBe('reply of second');
    // The newer token takes the slot: the older one's re-send runs again, never gets a wrong reply.
    expect(cache.get(first, 2)).toBeUndefined();
  });

  it('finds a reply before and after its batch is written, non-ASCII ones beside ASCII ones', () => {
    const cache = new FinishedAttempts(64 * KiB, 1000);
    const reply = (i: number) => (i % 3 === 0 ? `{"v":"é✓😀${i}"}` : `{"v":${i}}`);
    for (let i = 0; i < 10; i++) cache.add(i % 4 === 0 ? `tök${i}` : `t${i}`, reply(i), 0);
    const check = () => {
      for (let i = 0; i < 10; i++) {
        expect(cache.get(i % 4 === 0 ? `tök${i}` : `t${i}`, 1)).toBe(reply(i));
      }
    };
    check();
    cache.flush();
    check();
    // Batches fill and go into the ring on their own. Tokens that share a slot
    // with a later one are misses; every hit is the token's own reply.
    const big = new FinishedAttempts(1024 * KiB, 1000);
    for (let i = 0; i < 1_000; i++) big.add(`t${i}`, reply(i), 0);
    let found = 0;
    for (let i = 0; i < 1_000; i++) {
      const got = big.get(`t${i}`, 1);
      if (got === undefined) continue;
      found++;
      expect(got).toBe(reply(i));
    }
    expect(found).toBeGreaterThan(950);
  });

  it('keeps the newer of two replies for one token in the same batch', () => {
    const cache = new FinishedAttempts(64 * KiB, 1000);
    cache.add('a', 'first', 0);
    cache.add('b', 'other', 0);
    cache.add('a', 'second', 0);
    cache.flush();
    expect(cache.get('a', 1)).toBe('second');
    expect(cache.get('b', 1)).toBe('other');
  });

  it('rejects a ring size it cannot index', () => {
    for (const bad of [0, 1023, 2 ** 30 + 1, 1536.5, Number.NaN]) {
      expect(() => new FinishedAttempts(bad, 1000)).toThrow(RangeError);
    }
  });
});
