/**
 * One simulated run from a seed: a world, a workload, a fault plan, and the
 * checker's verdict. Everything random is drawn from the seed (including
 * `Math.random`, which the dispatcher's retry jitter reads: it is replaced by
 * the seed's generator for the run), and all time is the world's VirtualClock,
 * so the same seed gives the same run, event for event.
 */

import { type RecordKeys, recordKeys } from '@ringcast/dispatcher/internal';
import {
  DEFAULT_MAX_SKEW_MS,
  FrameGuard,
  FrameSealer,
  MAX_BATCH,
  type MemoryConnection,
  names,
  parseAuthOptions,
} from '@ringcast/protocol';
import { type AuthPlan, authPlan, keyringAt, unexpectedDrops } from './auth-plan.js';
import { Checker, type Outcome } from './checker.js';
import { serialDrainMs } from './drain-bound.js';
import { allRecords, readRecord } from './durable-records.js';
import {
  DISPATCHER_FAULT_KINDS,
  FAULT_KINDS,
  type Fault,
  planFaults,
  REGISTRY_FAULT_KINDS,
} from './faults.js';
import { Random } from './random.js';
import { Trace } from './trace.js';
import { planWorkload, scheduleWorkload } from './workload.js';
import {
  DISPATCHER_DRAIN_TIMEOUT_MS,
  FULL_RECONCILE_MS,
  NAMESPACE,
  OWNER_HEARTBEAT_MS,
  type SimProcess,
  WORKER_DRAIN_TIMEOUT_MS,
  World,
} from './world.js';

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

const LIVENESS_MARGIN_MS = 3_000;
/** A crashed worker's heartbeat has lapsed by then, with a margin (its TTL is 3 s at most). */
const WORKER_TTL_BOUND_MS = 4_000;
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
const IGNORE_SIGNAL_MAX_MS = 8_000;

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

async function simulate(
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
        checker.fault(fault.kind, clock.now(), clock.now() + aftermath(fault));
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

/** A connection of the checker's on the settled channel: every announcement counts. */
async function listenSettled(
  world: World,
  checker: Checker,
  auth: AuthPlan | undefined,
): Promise<MemoryConnection> {
  const connection = world.redis.connect('checker');
  // Sealed with auth: opened as a dispatcher would (a frame delivered twice is one
  // announcement), with every key a rotation uses.
  const keyring = auth && parseAuthOptions(keyringAt(auth, 1));
  const guard = new FrameGuard({
    keyring,
    clock: world.clock,
    maxBytes: 1 << 20,
    log: (_kind, line) => world.log(`checker: ${line}`),
  });
  // A message carries the ids one store call settled, space-separated.
  connection.onMessage((channel, frame) => {
    const ids = guard.open(channel, frame);
    if (ids === undefined) return;
    for (const taskId of ids.split(' ')) checker.published(taskId, world.clock.now());
  });
  // Heard again after a Redis restart cuts it: restored with the processes' connections.
  world.observers.push(connection);
  const channel = names(NAMESPACE).settledChannel;
  // Subscribed again whenever it comes back from a cut (ioredis does the same).
  connection.on('ready', () => void connection.subscribe([channel]).catch(() => undefined));
  const subscribed = connection.subscribe([channel]);
  await world.clock.runUntil(world.clock.now() + 1_000, () => connection.channels.length > 0);
  await subscribed;
  return connection;
}

/** What the checker opens sealed records with: every key a rotation uses, as listenSettled. */
function checkerKeys(auth: AuthPlan | undefined): RecordKeys {
  return recordKeys(auth && new FrameSealer(parseAuthOptions(keyringAt(auth, 1))));
}

/**
 * Reads the durable records into the checker: the known tasks', and with `all`
 * (or once they are all terminal) every record, so that a task stored by a
 * submit that rejected or never answered is found too. True when nothing is
 * pending any more.
 */
function sweepRecords(world: World, checker: Checker, all: boolean, keys: RecordKeys): boolean {
  const now = world.clock.now();
  for (const { call, taskId } of checker.awaitingRecords()) {
    const record = readRecord(world.redis, taskId, keys);
    if (record) checker.stored(call, taskId, record.state, record.outcome, now);
  }
  if (!all && checker.pending > 0) return false;
  for (const record of allRecords(world.redis, keys)) {
    if (record.call === undefined) {
      world.errors.push(`task ${record.taskId}'s record names no call`);
      continue;
    }
    checker.stored(record.call, record.taskId, record.state, record.outcome, now);
  }
  return checker.pending === 0;
}

/** Restores every cut connection of a live process, and the checker's own. */
function healAll(world: World): void {
  for (const p of [...world.dispatchers, ...world.workers] as SimProcess[]) {
    if (p.clock.dead) continue;
    for (const connection of p.connections()) connection.restore();
  }
  for (const connection of world.observers) connection.restore();
}

/** Applies one fault; false when it had nothing to hit (then it is not counted). */
function inject(world: World, fault: Fault, random: Random, persisted: boolean): boolean {
  const { clock, redis } = world;
  const processes: SimProcess[] = [...world.dispatchers, ...world.workers];
  const target = processes[fault.target % processes.length]!;
  const workers = world.workers.filter((w) => w.state === 'running');
  const worker = workers.length > 0 ? workers[fault.target % workers.length] : undefined;
  const later = (ms: number, what: () => void) => clock.setTimeout(what, ms);
  switch (fault.kind) {
    case 'subscriber-drop':
    case 'command-drop': {
      if (target.clock.dead) return false;
      const connection = fault.kind === 'command-drop' ? target.command() : target.subscriber();
      if (connection?.status !== 'ready') return false;
      world.log(
        `FAULT ${fault.kind} ${target.id} for ${fault.durationMs} ms (in flight: ${fault.inFlight})`,
      );
      connection.drop(fault.inFlight);
      later(fault.durationMs, () => {
        if (!target.clock.dead) connection.restore();
      });
      return true;
    }
    case 'redis-stall':
      world.log(`FAULT redis-stall ${fault.durationMs} ms`);
      redis.stall(fault.durationMs);
      return true;
    case 'redis-restart':
      world.log(`FAULT redis-restart, down ${fault.durationMs} ms (in flight: ${fault.inFlight})`);
      redis.restart(fault.inFlight, persisted);
      later(fault.durationMs, () => healAll(world));
      return true;
    case 'worker-crash':
      if (!worker) return false;
      world.log(`FAULT worker-crash ${worker.id}`);
      world.crash(worker, fault.inFlight);
      return true;
    case 'worker-restart': {
      const crashed = world.workers.find(
        (w) =>
          w.state === 'crashed' &&
          !world.workers.some((o) => o.id === w.id && o.state === 'running'),
      );
      const victim = crashed ?? worker;
      if (!victim) return false;
      world.log(`FAULT worker-restart ${victim.id}`);
      if (victim.state !== 'crashed') world.crash(victim, fault.inFlight);
      later(random.int(0, 1_000), () => {
        // Not once the run is closing, nor while another process serves the id.
        const taken = world.workers.some((w) => w.id === victim.id && w.state !== 'crashed');
        if (!world.stopped && !taken) void world.addWorker(victim.id);
      });
      return true;
    }
    case 'worker-pause':
      if (!worker) return false;
      world.log(`FAULT worker-pause ${worker.id} for ${fault.durationMs} ms`);
      world.pause(worker, fault.durationMs);
      return true;
    case 'worker-block':
      if (!worker) return false;
      world.log(`FAULT worker-block ${worker.id} for ${fault.durationMs} ms`);
      world.block(worker, fault.durationMs);
      return true;
    case 'worker-drain':
      if (!worker) return false;
      world.log(`FAULT worker-drain ${worker.id}`);
      void world.drain(worker);
      return true;
    case 'worker-join':
      if (world.stopped) return false;
      world.log('FAULT worker-join');
      void world.addWorker();
      return true;
    case 'dispatcher-crash': {
      const live = world.liveDispatchers;
      const victim = live[fault.target % Math.max(1, live.length)];
      if (!victim) return false;
      world.log(`FAULT dispatcher-crash ${victim.id}`);
      world.crashDispatcher(victim, fault.inFlight);
      // Another starts a little later: under the same id (it takes the tasks back at
      // start) or a new one (it adopts them once the dead one's heartbeat lapsed).
      const sameId = random.chance(0.5);
      later(random.int(0, 1_500), () => {
        if (!world.stopped) void world.addDispatcher(sameId ? victim.id : undefined);
      });
      return true;
    }
    case 'dispatcher-pause': {
      const live = world.liveDispatchers;
      const victim = live[fault.target % Math.max(1, live.length)];
      if (!victim) return false;
      world.log(`FAULT dispatcher-pause ${victim.id} for ${fault.durationMs} ms`);
      victim.clock.freeze(fault.durationMs);
      return true;
    }
    case 'registry-log-loss': {
      if (!worker) return false;
      world.log(`FAULT registry-log-loss ${worker.id}`);
      const n = names(NAMESPACE);
      redis.zrem(n.registryChangesKey, [worker.id]);
      redis.zrem(n.heartbeatDeadlinesKey, [worker.id]);
      world.crash(worker, fault.inFlight);
      return true;
    }
    case 'clock-skew':
      if (target.clock.dead) return false;
      world.log(`FAULT clock-skew ${target.id} to ${fault.durationMs} ms`);
      target.clock.skew = fault.durationMs;
      return true;
    default:
      return false;
  }
}

/** Outcome type re-exported for callers that print runs. */
export type { Outcome };
