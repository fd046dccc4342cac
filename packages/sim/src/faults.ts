import type { InFlight } from '@ringcast/protocol';
import type { Random } from './random.js';

/**
 * The faults a simulated run can suffer, each a model of something real:
 * - `subscriber-drop`: a process's subscriber connection is cut and restored
 *   `durationMs` later; what was published meanwhile is gone (PUBLISH counted 0).
 * - `command-drop`: a command connection is cut; its commands in flight meet
 *   the fault's `inFlight` fate: never applied, applied with the reply lost, or
 *   re-sent by the client once it reconnects (applied once then, or twice).
 * - `redis-restart`: Redis restarts empty; every connection drops and returns.
 * - `redis-stall`: Redis answers nothing for `durationMs`, then everything at once.
 * - `worker-crash`: a worker dies (no heartbeat, no goodbye); `worker-restart`
 *   starts it again under the same id.
 * - `worker-pause`: a worker process is stopped (SIGSTOP) and resumed: nothing
 *   of it runs meanwhile, heartbeat thread included.
 * - `worker-block`: a handler blocks a worker's event loop; its heartbeat thread
 *   keeps beating and reports the block.
 *
 * A slow subscriber's cut-off is not drawn here: it follows from these. While a
 * worker is paused or blocked, what is published to it piles up unread, and past
 * the run's `pubsubOutputLimit` Redis disconnects it (memory-connection.ts).
 * - `worker-drain`: a worker closes gracefully; `worker-join` adds a new one.
 * - `clock-skew`: a process's clock jumps ahead or behind by up to `durationMs`.
 * - `registry-log-loss`: a worker's change notices are lost (its entries in the
 *   registry's change log and heartbeat deadlines vanish, as writes lost in a
 *   failover would), then it crashes: no tick tells of its death, only the
 *   dispatchers' full reconcile, the safety net, can.
 *
 * Runs with durable tasks may also lose dispatchers ({@link DISPATCHER_FAULT_KINDS}):
 * - `dispatcher-crash`: a dispatcher dies; another starts a little later, under
 *   a new id (it adopts the dead one's tasks once its heartbeat lapses) or the
 *   same one (it takes them back at start);
 * - `dispatcher-pause`: a dispatcher is stopped and resumed, often past its
 *   owner heartbeat's TTL: its tasks are adopted, and its late writes fenced.
 */
export const FAULT_KINDS = [
  'subscriber-drop',
  'command-drop',
  'redis-restart',
  'redis-stall',
  'worker-crash',
  'worker-restart',
  'worker-pause',
  'worker-block',
  'worker-drain',
  'worker-join',
  'clock-skew',
] as const;

export const DISPATCHER_FAULT_KINDS = ['dispatcher-crash', 'dispatcher-pause'] as const;

/**
 * Faults a run draws from a generator of its own ({@link registryLossRandom} in
 * run.ts), so that the seeds drawn before they existed, regression seeds
 * among them, keep their runs.
 */
export const REGISTRY_FAULT_KINDS = ['registry-log-loss'] as const;

export type FaultKind =
  | (typeof FAULT_KINDS)[number]
  | (typeof DISPATCHER_FAULT_KINDS)[number]
  | (typeof REGISTRY_FAULT_KINDS)[number];

export interface Fault {
  /** Milliseconds after the run started. */
  at: number;
  kind: FaultKind;
  /** Which process it hits: an index the world maps onto its dispatchers and workers. */
  target: number;
  durationMs: number;
  /** What becomes of the commands in flight on a connection the fault cuts. */
  inFlight: InFlight;
}

const IN_FLIGHT: readonly InFlight[] = ['lost', 'applied', 'resent', 'twice'];

export interface FaultPlan {
  /** Faults are injected during this many ms from the start; then the run heals. */
  windowMs: number;
  /** Processes a fault can target. */
  processes: number;
  /** Mean faults per second of the window. */
  perSecond: number;
  /** Kinds this run may use (a seed picks a subset, so runs differ in character). */
  kinds?: readonly FaultKind[];
}

/** Draws a run's faults, in time order, from `random`. */
export function planFaults(random: Random, plan: FaultPlan): Fault[] {
  const kinds = plan.kinds ?? FAULT_KINDS.filter(() => random.chance(0.6));
  if (kinds.length === 0 || plan.perSecond <= 0) return [];
  const faults: Fault[] = [];
  const meanGapMs = 1_000 / plan.perSecond;
  for (
    let at = random.next() * meanGapMs;
    at < plan.windowMs;
    at += exponential(random, meanGapMs)
  ) {
    const kind = random.pick(kinds);
    faults.push({
      at: Math.floor(at),
      kind,
      target: random.int(0, Math.max(0, plan.processes - 1)),
      durationMs: duration(random, kind),
      inFlight: random.pick(IN_FLIGHT),
    });
  }
  return faults;
}

function exponential(random: Random, mean: number): number {
  return -Math.log(1 - random.next()) * mean;
}

/** How long a fault lasts: realistic orders of magnitude against the default timers (1 s beats, 3 s TTL, 5 s ack). */
function duration(random: Random, kind: FaultKind): number {
  switch (kind) {
    case 'subscriber-drop':
    case 'command-drop':
      return random.int(1, 2_000);
    case 'redis-restart':
      return random.int(10, 1_000);
    case 'redis-stall':
    case 'worker-pause':
      return random.int(100, 8_000);
    case 'dispatcher-pause':
      return random.int(50, 2_000);
    case 'worker-block':
      return random.int(100, 10_000);
    case 'clock-skew':
      return random.int(-2_000, 2_000);
    default:
      return 0;
  }
}
