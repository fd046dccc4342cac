import { describe, expect, it } from 'vitest';
import { runSeed } from './run.js';

describe('runSeed', () => {
  it('gives the same run for the same seed', async () => {
    const a = await runSeed(7);
    const b = await runSeed(7);
    expect(a.events).toBeGreaterThan(0);
    expect(b.trace).toEqual(a.trace);
    expect(b.outcomes).toEqual(a.outcomes);
    expect(b.coverage).toEqual(a.coverage);
    expect(b.violations).toEqual(a.violations);
  });

  it('passes a handful of seeds', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const result = await runSeed(seed);
      expect(
        result.violations,
        `npm run sim -- --seed ${seed}\n${result.trace.slice(-40).join('\n')}`,
      ).toEqual([]);
    }
  });
});
