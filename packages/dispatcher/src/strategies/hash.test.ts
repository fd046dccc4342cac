import { describe, expect, it } from 'vitest';
import { hashString, mix32, pointHash } from './hash.js';

describe('ring hashes', () => {
  it('are deterministic 32-bit unsigned integers', () => {
    for (const s of ['', 'a', 'user:42', 'ü✓', 'x'.repeat(1_000)]) {
      const h = hashString(s);
      expect(h).toBe(hashString(s));
      expect(Number.isInteger(h)).toBe(true);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h).toBeLessThan(2 ** 32);
    }
    // FNV-1a's offset basis, finalised: the empty key has a fixed place.
    expect(hashString('')).toBe(mix32(0x811c9dc5));
  });

  it('tell apart keys that differ in one character, or only in a high byte', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 50_000; i++) seen.add(hashString(`key-${i}`));
    expect(seen.size).toBeGreaterThanOrEqual(49_999);
    expect(hashString('\u0100')).not.toBe(hashString('\u0000\u0001'));
    expect(hashString('\u0141')).not.toBe(hashString('\u0041'));
  });

  it('spread sequential keys evenly over the ring (χ² over 64 arcs)', () => {
    const arcs = 64;
    const n = 128_000;
    const hits = new Array<number>(arcs).fill(0);
    for (let i = 0; i < n; i++) hits[Math.floor(hashString(`task:${i}`) / 2 ** 26)]!++;
    const expected = n / arcs;
    const chi2 = hits.reduce((acc, h) => acc + (h - expected) ** 2 / expected, 0);
    // 63 degrees of freedom: the 99.9th percentile is about 103.
    expect(chi2).toBeLessThan(103);
  });

  it('place a worker’s virtual nodes apart from each other and from other workers’', () => {
    const a = hashString('worker-a');
    const b = hashString('worker-b');
    const points = new Set<number>();
    for (let p = 0; p < 1_024; p++) {
      points.add(pointHash(a, p));
      points.add(pointHash(b, p));
    }
    expect(points.size).toBe(2_048);
  });
});
