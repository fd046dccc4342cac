/**
 * A run's course on its world, once planned (run.ts): the calls and faults
 * scheduled, the faults stopped, then every check a run ends with: liveness,
 * membership healed, clean closes, nothing invalid dropped, nothing left in
 * flight or ticking.
 */

import { DEFAULT_MAX_SKEW_MS } from '@ringcast/protocol';
import { type AuthPlan, keyringAt, unexpectedDrops } from './auth-plan.js';
import type { Checker } from './checker.js';
import {
  DISPATCHER_DRAIN_TIMEOUT_MS,
  FULL_RECONCILE_MS,
  OWNER_HEARTBEAT_MS,
  WORKER_DRAIN_TIMEOUT_MS,
} from './deployment-settings.js';
import { serialDrainMs } from './drain-bound.js';
import { checkerKeys, listenSettled, sweepRecords } from './durable-checks.js';
import type { Fault } from './faults.js';
import { healAll, inject, mayHandOverOwnership } from './inject.js';
import type { Random } from './random.js';
import type { SimProcess } from './sim-process.js';
import { type planWorkload, scheduleWorkload } from './workload.js';
import type { World } from './world.js';

const LIVENESS_MARGIN_MS = 3_000;
/** A crashed worker's heartbeat has lapsed by then, with a margin (its TTL is 3 s at most). */
const WORKER_TTL_BOUND_MS = 4_000;
const IGNORE_SIGNAL_MAX_MS = 8_000;

export async function simulate(
  world: World,
  checker: Checker,
  calls: ReturnType<typeof planWorkload>,
  faults: Fault[],
  windowMs: number,
  coverage: Record<string, number>,
  random: Random,
  kind: { durable: { persisted: boolean } | undefined; auth: AuthPlan | undefined },
): Promise<void> {
  const { durable, auth } = kind;
  const { clock } = world;
  await world.start();
  // Every terminal write announces its id once: a second announcement is a second write.
  if (durable) await listenSettled(world, checker, auth);
  const start = clock.now();
  world.log(
    `started: ${world.dispatchers.length} dispatcher(s), ${world.workers.length} worker(s), ${calls.length} calls, ${faults.length} faults`,
  );
  scheduleWorkload(world, checker, calls);
  for (const fault of faults) {
    clock.setTimeout(() => {
      if (inject(world, fault, random, durable?.persisted ?? false)) {
        coverage[fault.kind] = (coverage[fault.kind] ?? 0) + 1;
        const ownership = mayHandOverOwnership(world, fault);
        checker.fault(fault.kind, clock.now(), clock.now() + aftermath(fault), ownership);
      }
    }, fault.at);
  }
  let switchedAt = start;
  if (auth?.rotation) {
    const { add, current } = auth.rotation;
    clock.setTimeout(() => world.setAuth(keyringAt(auth, 1)), Math.floor(add * windowMs));
    clock.setTimeout(
      () => {
        world.setAuth(keyringAt(auth, 2));
        switchedAt = clock.now();
      },
      Math.floor(current * windowMs),
    );
  }
  await clock.runUntil(start + windowMs + 1);
  // Faults stop: every live process gets its connections back.
  world.stopped = true;
  world.thawAll();
  healAll(world);
  // Durable tasks outlive the processes: a dead dispatcher's need a live one to adopt
  // them, and the backlog needs a worker. The deployment is brought back, also when
  // a start under way when faults stopped fails after.
  const restore = () => {
    if (world.liveDispatchers.length === 0) void world.addDispatcher();
    if (world.running.length === 0) void world.addWorker();
  };
  const restoring = durable ? clock.setInterval(restore, 500) : undefined;
  if (durable) restore();
  world.log('faults stopped');
  const keys = checkerKeys(auth);
  // A delayed call's timeout counts from when it is due.
  const maxTimeout = Math.max(0, ...calls.map((c) => c.timeoutMs + (c.delayMs ?? 0)));
  // A durable task waits for an adopter (a TTL), then for a slot: perhaps behind
  // every other task, when one slot is all the faults left (serialDrainMs).
  const drain = durable ? 5_000 + maxTimeout + serialDrainMs(calls) : 0;
  await clock.runUntil(start + windowMs + maxTimeout + drain + LIVENESS_MARGIN_MS, () =>
    durable ? sweepRecords(world, checker, false, keys) : checker.pending === 0,
  );
  if (checker.pending > 0) {
    const message = `liveness: ${checker.pending} call(s) still pending ${LIVENESS_MARGIN_MS} ms past the longest timeout after faults stopped`;
    world.log(message);
    world.errors.push(message);
  }
  clock.clearTimer(restoring);
  // Membership heals: a worker that crashed leaves every view, by a tick or, when
  // its change notices were lost, by the full reconcile (at most 1.25 × its
  // interval) once its heartbeat lapsed. A Redis stall may outlast the faults, and
  // the dispatchers judge no lapse until a TTL after it ended (their hold on
  // liveness judgement): the wait counts from then.
  const judging = Math.max(clock.now(), world.redis.stalledUntil + WORKER_TTL_BOUND_MS);
  await clock.runUntil(judging + FULL_RECONCILE_MS * 1.25 + WORKER_TTL_BOUND_MS);
  for (const d of world.dispatchers.filter((each) => each.state !== 'crashed')) {
    for (const v of d.core.workers()) {
      if (!world.workers.some((w) => w.id === v.id && w.state !== 'crashed')) {
        world.errors.push(`${d.id} still counts worker ${v.id}, whose process crashed`);
      }
    }
  }
  if (auth?.rotation) {
    // Every process signs with k2; a frame signed with k1 may still wait in a stalled
    // Redis, though never past the skew window (it is stale then): k1 goes after it.
    await clock.runUntil(Math.max(clock.now(), switchedAt + DEFAULT_MAX_SKEW_MS + 1_000));
    world.setAuth(keyringAt(auth, 3));
  }
  // Close the dispatchers, then the workers.
  let closed = 0;
  const dispatchersClosed = world.dispatchers
    .filter((d) => d.state !== 'crashed')
    .map((d) =>
      d.core.close().then(
        () => {
          closed++;
          world.log(`${d.id} closed`);
        },
        (error: unknown) => world.errors.push(`${d.id}.close() rejected: ${String(error)}`),
      ),
    );
  await clock.runUntil(
    clock.now() + DISPATCHER_DRAIN_TIMEOUT_MS + 5_000,
    () => closed === dispatchersClosed.length,
  );
  if (closed < dispatchersClosed.length) world.errors.push('a dispatcher close() never resolved');
  checker.closed(clock.now());
  let workersClosed = 0;
  const closing = world.workers
    .filter((w) => w.state !== 'crashed')
    .map((w) => world.drain(w).then(() => workersClosed++));
  await clock.runUntil(
    clock.now() + WORKER_DRAIN_TIMEOUT_MS + 5_000,
    () => workersClosed === closing.length,
  );
  if (workersClosed < closing.length) world.errors.push('a worker close() never resolved');
  // Handlers that ignore their signal outlive close(); let them end (harmlessly) before counting.
  await clock.runUntil(clock.now() + IGNORE_SIGNAL_MAX_MS + 1_000);
  for (const w of world.workers) {
    if (w.state === 'crashed') continue;
    const { inflight } = w.core.stats() as { inflight?: number };
    if (inflight)
      world.errors.push(`${w.id} still has ${inflight} task(s) in flight after close()`);
  }
  // Nothing in a run sends garbage: a frame one core made that another refused is a bug.
  for (const w of world.workers) {
    const { invalid } = w.core.stats();
    if (invalid > 0)
      world.errors.push(`${w.id} dropped ${invalid} invalid message(s) from a dispatcher`);
  }
  // Every frame a core sealed, another opened: with auth, only replays are dropped.
  for (const p of [...world.dispatchers, ...world.workers]) {
    const wrong =
      p.state === 'crashed' ? undefined : unexpectedDrops(p.id, p.core.stats().auth.dropped);
    if (wrong) world.errors.push(wrong);
  }
  const survivors = world.dispatchers.filter((d) => d.state !== 'crashed');
  for (const d of survivors) {
    const { invalidMessages } = d.core.stats();
    if (invalidMessages > 0) {
      world.errors.push(`${d.id} dropped ${invalidMessages} invalid message(s) from a worker`);
    }
  }
  for (const d of survivors) {
    const stats = d.core.stats();
    if (stats.inflight > 0 || stats.queued > 0 || stats.delayed > 0) {
      world.errors.push(
        `${d.id} still holds ${stats.inflight} in flight, ${stats.queued} queued, ${stats.delayed} delayed after close()`,
      );
    }
  }
  // Nothing left ticking once everything closed.
  for (const p of [...world.dispatchers, ...world.workers] as SimProcess[]) {
    if (!p.clock.dead && p.clock.timers > 0) {
      world.errors.push(`${p.id} left ${p.clock.timers} timer(s) set after close()`);
    }
  }
}

/**
 * How long after it starts a fault can explain a second run of a task: its
 * duration, plus what the cores take to notice (an ack timeout, a heartbeat
 * TTL, a reconcile) — or a drain's grace — with room to spare.
 */
function aftermath(fault: Fault): number {
  const notice = 2_000;
  switch (fault.kind) {
    case 'clock-skew':
      return Number.POSITIVE_INFINITY;
    case 'worker-drain':
    case 'worker-restart':
      return WORKER_DRAIN_TIMEOUT_MS * 2 + 1_000 + notice;
    case 'dispatcher-crash':
      // Its replacement starts up to 1.5 s later; its tasks are adopted a TTL after its last beat.
      return 1_500 + 3 * OWNER_HEARTBEAT_MS + notice;
    default:
      return Math.max(0, fault.durationMs) + notice;
  }
}
