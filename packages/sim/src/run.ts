/**
 * One simulated run from a seed: a world, a workload, a fault plan, and the
 * checker's verdict. Everything random is drawn from the seed (including
 * `Math.random`, which the dispatcher's retry jitter reads: it is replaced by
 * the seed's generator for the run), and all time is the world's VirtualClock,
 * so the same seed gives the same run, event for event. The run's course is
 * simulate.ts's.
 */

import { MAX_BATCH } from '@ringcast/protocol';
import { authPlan, keyringAt } from './auth-plan.js';
import { Checker, type Outcome } from './checker.js';
import { checkerKeys, sweepRecords } from './durable-checks.js';
import { DISPATCHER_FAULT_KINDS, FAULT_KINDS, planFaults, REGISTRY_FAULT_KINDS } from './faults.js';
import { Random } from './random.js';
import { simulate } from './simulate.js';
import { Trace } from './trace.js';
import { planWorkload } from './workload.js';
import { World } from './world.js';

export interface RunOptions {
  /** Ms during which calls are made and faults injected. */
  windowMs?: number;
  calls?: number;
  faultsPerSecond?: number;
  traceLines?: number;
}

export interface RunResult {
  seed: number;
  violations: string[];
  trace: string[];
  /** How often each fault kind fired. */
  coverage: Record<string, number>;
  outcomes: Record<string, number>;
  /** Trace events recorded. */
  events: number;
}

/** About one seed in this many is a flood run (one dispatcher, one worker, a burst of calls). */
const FLOOD_EVERY = 200;

/**
 * Whether `seed` makes a flood run: drawn from a generator of its own, so that
 * the other seeds' runs do not depend on it.
 */
export function isFloodRun(seed: number): boolean {
  return new Random(seed ^ 0x466c6f6f).int(0, FLOOD_EVERY - 1) === 0;
}

/**
 * A durable run's own generator (about half the seeds, never a flood run), or
 * undefined: drawn apart from the run's, so the other seeds' runs do not depend on it.
 * A durable run makes about half its calls durable, loses and stalls dispatchers,
 * and its Redis persists across restarts (AOF, `appendfsync always`).
 */
export function durableRandom(seed: number): Random | undefined {
  const random = new Random(seed ^ 0x44757261);
  return !isFloodRun(seed) && random.chance(0.5) ? random : undefined;
}

/**
 * A lossy-registry run's own generator (about one seed in four), or undefined:
 * such a run also loses workers' change notices (`registry-log-loss`). Drawn
 * apart from the run's, so the other seeds' runs do not depend on it.
 */
export function registryLossRandom(seed: number): Random | undefined {
  const random = new Random(seed ^ 0x52656773);
  return random.chance(0.25) ? random : undefined;
}

export async function runSeed(seed: number, options: RunOptions = {}): Promise<RunResult> {
  const random = new Random(seed);
  const savedRandom = Math.random;
  const jitter = random.fork();
  Math.random = () => jitter.next();
  const violations: string[] = [];
  const onUnhandled = (error: unknown) => {
    violations.push(`unhandled rejection: ${String(error)}`);
  };
  process.on('unhandledRejection', onUnhandled);
  const checker = new Checker();
  const trace = new Trace(options.traceLines ?? 200);
  const coverage: Record<string, number> = {};
  try {
    const flood = isFloodRun(seed);
    const auth = authPlan(seed);
    const world: World = new World({
      random: random.fork(),
      checker,
      trace,
      dispatchers: flood ? 1 : random.int(1, 2),
      workers: flood ? 1 : random.int(2, 4),
      flood,
      ...(auth ? { auth: keyringAt(auth, 0) } : {}),
    });
    const windowMs = options.windowMs ?? random.int(2_000, 6_000);
    const durable = durableRandom(seed);
    const calls = planWorkload(random.fork(), {
      windowMs,
      calls: options.calls ?? random.int(5, 40),
      dispatchers: world.options.dispatchers,
      ...(flood ? { burst: MAX_BATCH + random.int(1, 2_000) } : {}),
      ...(durable ? { durable: durable.fork() } : {}),
    });
    const faults = planFaults(random.fork(), {
      windowMs,
      processes: world.options.dispatchers + world.options.workers,
      perSecond: options.faultsPerSecond ?? random.next() * 2,
      kinds: FAULT_KINDS.filter(() => random.chance(0.6)),
    });
    if (durable) {
      const lost = planFaults(durable.fork(), {
        windowMs,
        processes: world.options.dispatchers,
        perSecond: durable.next() * 0.8,
        kinds: DISPATCHER_FAULT_KINDS.filter(() => durable.chance(0.7)),
      });
      faults.push(...lost);
    }
    const lossy = registryLossRandom(seed);
    if (lossy) {
      const lost = planFaults(lossy, {
        windowMs,
        processes: world.options.workers,
        perSecond: lossy.next() * 0.8,
        kinds: REGISTRY_FAULT_KINDS,
      });
      faults.push(...lost);
    }
    faults.sort((a, b) => a.at - b.at);
    try {
      const durability = durable ? { persisted: true } : undefined;
      await simulate(world, checker, calls, faults, windowMs, coverage, random.fork(), {
        durable: durability,
        auth,
      });
    } catch (error) {
      violations.push(
        `the run threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    }
    if (durable) sweepRecords(world, checker, true, checkerKeys(auth));
    violations.push(...world.errors);
    // Not drawn but caused (a paused or blocked worker's subscriber), so counted where it happened.
    if (world.redis.counters.cutOff > 0) {
      coverage['slow-subscriber-cutoff'] = world.redis.counters.cutOff;
    }
  } finally {
    Math.random = savedRandom;
    // Let rejections of this run surface while its listener still hears them.
    await new Promise((resolve) => setImmediate(resolve));
    process.off('unhandledRejection', onUnhandled);
  }
  violations.push(...checker.finish());
  return {
    seed,
    violations,
    trace: trace.lines(),
    coverage,
    outcomes: checker.outcomes(),
    events: trace.count,
  };
}

/** Outcome type re-exported for callers that print runs. */
export type { Outcome };
