import { MAX_BATCH } from '@ringcast/protocol';
import { describe, expect, it } from 'vitest';
import { authPlan } from './auth-plan.js';
import { knownBug } from './known-bugs.js';
import { durableRandom, isFloodRun, registryLossRandom, runSeed } from './run.js';

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

  it('makes about one run in 200 a flood: one worker, a burst of more calls than a frame may carry', async () => {
    const floods = Array.from({ length: 2_000 }, (_, i) => i + 1).filter(isFloodRun);
    expect(floods.length).toBeGreaterThanOrEqual(4);
    expect(floods.length).toBeLessThanOrEqual(20);
    const result = await runSeed(floods[0]!);
    expect(result.violations).toEqual([]);
    expect(result.outcomes['ok']).toBeGreaterThan(MAX_BATCH);
  });

  it('makes about half the other runs durable: durable calls, dispatchers lost and stalled', async () => {
    const seeds = Array.from({ length: 400 }, (_, i) => i + 1);
    const durable = seeds.filter((seed) => durableRandom(seed) !== undefined);
    expect(durable.length).toBeGreaterThan(150);
    expect(durable.length).toBeLessThan(250);
    expect(durable.some(isFloodRun)).toBe(false);
    const result = await runSeed(durable[0]!);
    expect(result.violations).toEqual([]);
    expect(result.trace.some((line) => line.includes(' stored as '))).toBe(true);
  });

  it("makes about one run in four lose workers' change notices, healed by the full reconcile", async () => {
    const seeds = Array.from({ length: 400 }, (_, i) => i + 1);
    const lossy = seeds.filter((seed) => registryLossRandom(seed) !== undefined);
    expect(lossy.length).toBeGreaterThan(60);
    expect(lossy.length).toBeLessThan(140);
    let fired = 0;
    for (const seed of lossy.slice(0, 10)) {
      const result = await runSeed(seed);
      expect(result.violations, `npm run sim -- --seed ${seed}`).toEqual([]);
      fired += result.coverage['registry-log-loss'] ?? 0;
    }
    expect(fired).toBeGreaterThan(0);
  });

  it('makes about one run in four sign and check every frame, half of those rotating keys', async () => {
    const seeds = Array.from({ length: 400 }, (_, i) => i + 1);
    const signed = seeds.filter((seed) => authPlan(seed) !== undefined);
    expect(signed.length).toBeGreaterThan(60);
    expect(signed.length).toBeLessThan(140);
    const rotating = signed.filter((seed) => authPlan(seed)!.rotation !== undefined);
    expect(rotating.length).toBeGreaterThan(signed.length / 4);
    expect(signed.some((seed) => authPlan(seed)!.encrypt)).toBe(true);
    const result = await runSeed(rotating[0]!, { traceLines: 10_000 });
    expect(result.violations).toEqual([]);
    const rotations = result.trace.filter((line) => line.includes('keys rotated'));
    expect(rotations.map((line) => line.replace(/^.*keys rotated: /, ''))).toEqual([
      'signing with k1 (keys k1, k2)',
      'signing with k2 (keys k1, k2)',
      'signing with k2 (keys k2)',
    ]);
  });

  it('retires the old key only once a frame signed with it can no longer arrive in the window', async () => {
    // Seed 1485 (on the simulator it was found with): a Redis stall holds frames signed
    // with k1 past the switch to k2; retired at once, k1 made them unknown_key drops.
    const result = await runSeed(1485);
    expect(authPlan(1485)?.rotation).toBeDefined();
    expect(result.violations).toEqual([]);
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

/**
 * Seeds whose runs found a core bug, each fixed with a unit test that pins the
 * same scenario by hand. A seed replays the same run only on the simulator it
 * was found with: as the simulator grows, these may stop reaching the bug, and
 * the unit tests keep it pinned.
 */
const REGRESSION_SEEDS: ReadonlyArray<[number, string]> = [
  [54, 'a task failed WORKER_LOST after its last attempt no longer corrupts the local queue'],
  [100014, 'a re-sent attempt is not run again by a worker restarted under the same id'],
  [
    100116,
    "a worker closing while Redis stalls ends its close() (the memory transport's unsubscribe is bounded)",
  ],
  [
    709,
    'a worker leaving before it answers a re-sent attempt it acknowledged: not run elsewhere beyond maxAttempts',
  ],
  [100182, "a re-sent task within a few bytes of its worker's frame limit still fits the limit"],
  [
    200740,
    'a BUSY refusal of one copy of a re-sent attempt does not refund it while the other copy runs',
  ],
  [
    67,
    'a durable task whose claiming write applied with its reply lost is found as an orphan and run',
  ],
  [857, 'a dispatcher whose heartbeat lapsed cannot claim a task that nobody would then adopt'],
  [
    231,
    "workers whose change notices were lost leave every view once a Redis stall that outlasted the faults, and the dispatchers' hold after it, ended",
  ],
  [467, 'a lossy registry, a Redis restart and a stall: every crashed worker leaves every view'],
  [
    5170,
    "a stale owner's timeout cancel does not stop the run its durable task's new owner re-attached to, nor become the task's stored failure",
  ],
  [
    9903,
    "a dispatcher cut from Redis past its owner TTL is a stale owner like a paused one: its earlier attempt's result, stored once it owns the task again, is a real run's",
  ],
  [701372, 'Redis restarts can hand a durable task to another owner: the checker allows for it'],
];

describe('seeds that found bugs, kept as regression cases', () => {
  it.each(REGRESSION_SEEDS)('seed %i: %s', async (seed) => {
    const result = await runSeed(seed);
    expect(
      result.violations,
      `npm run sim -- --seed ${seed}\n${result.trace.slice(-40).join('\n')}`,
    ).toEqual([]);
  });
});
