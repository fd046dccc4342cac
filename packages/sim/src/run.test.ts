import { describe, expect, it } from 'vitest';
import { knownBug } from './known-bugs.js';
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
        result.violations.filter((v) => !knownBug(v)),
        `npm run sim -- --seed ${seed}\n${result.trace.slice(-40).join('\n')}`,
      ).toEqual([]);
    }
  });
});

describe('seeds that found bugs, kept as regression cases', () => {
  it('seed 54: a task failed WORKER_LOST after its last attempt no longer corrupts the local queue', async () => {
    const result = await runSeed(54);
    expect(
      result.violations,
      `npm run sim -- --seed 54\n${result.trace.slice(-40).join('\n')}`,
    ).toEqual([]);
  });

  it('seed 100014: a re-sent attempt is not run again by a worker restarted under the same id', async () => {
    const result = await runSeed(100014);
    expect(
      result.violations,
      `npm run sim -- --seed 100014\n${result.trace.slice(-40).join('\n')}`,
    ).toEqual([]);
    // The run still has the restart that exposed the bug.
    expect(result.coverage['worker-restart']).toBeGreaterThan(0);
  });

  it('seed 100116: a worker closing while Redis stalls past the run ends its close() (the memory transport waited unboundedly)', async () => {
    const result = await runSeed(100116);
    expect(
      result.violations,
      `npm run sim -- --seed 100116\n${result.trace.slice(-40).join('\n')}`,
    ).toEqual([]);
  });

  it('seed 709: a worker leaving before it answers a re-sent attempt it acknowledged does not get that attempt run elsewhere beyond maxAttempts', async () => {
    const result = await runSeed(709);
    expect(
      result.violations,
      `npm run sim -- --seed 709\n${result.trace.slice(-40).join('\n')}`,
    ).toEqual([]);
  });
});
