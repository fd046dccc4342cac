// The scale scenario: a large fleet of lightweight workers (scale-fleet.ts, many per process)
// and several dispatchers (scale-dispatcher.ts, one per process), on one private Redis.
// It measures what discovery and liveness cost and how fast they are:
// - each dispatcher's CPU (% of one core) idle with 2 workers and with the whole fleet, and
//   under the same load with each (the difference is what the fleet's size costs it);
// - Redis's CPU with the fleet alone (per heartbeat) and with the dispatchers idle besides;
// - join-to-first-task: a worker started while load runs, until every dispatcher sees it
//   and until it runs its first task;
// - death-to-redelivery: a process of workers killed (SIGKILL) with tasks in flight, until
//   every dispatcher dropped them and until the tasks they held settled elsewhere; none lost.
import { fileURLToPath } from 'node:url';
import { names } from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { BenchError, type Child, cpuMsOf, spawnChild, waitFor, withTimeout } from './harness.js';
import type { DispatcherAnswer, DispatcherRequest, LoadOutcome } from './scale-dispatcher.js';
import type { FleetCommand, FleetEvent } from './scale-fleet.js';

const FLEET = fileURLToPath(new URL('./scale-fleet.ts', import.meta.url));
const DISPATCHER = fileURLToPath(new URL('./scale-dispatcher.ts', import.meta.url));

export interface ScaleShape {
  /** Workers in all, the victim process's included. */
  workers: number;
  /** Processes the workers other than the victim's are spread over. */
  fleets: number;
  /** Workers in the process that is killed. */
  victim: number;
  dispatchers: number;
  /** Each measuring window, in ms. */
  windowMs: number;
  /** Tasks per second each dispatcher sends under load, and how long each runs. */
  perSecond: number;
  taskMs: number;
}

export const SCALE_SHAPES: Record<'full' | 'quick', ScaleShape> = {
  full: {
    workers: 1000,
    fleets: 4,
    victim: 40,
    dispatchers: 5,
    windowMs: 10_000,
    perSecond: 200,
    taskMs: 200,
  },
  quick: {
    workers: 24,
    fleets: 2,
    victim: 4,
    dispatchers: 2,
    windowMs: 1_500,
    perSecond: 40,
    taskMs: 50,
  },
};

export interface ScaleResult {
  shape: ScaleShape;
  /** % of one core per dispatcher (mean over dispatchers). */
  dispatcherCpu: { idle2: number; idleFleet: number; load2: number; loadFleet: number };
  /** % of one core. */
  redisCpu: { fleetOnly: number; fleetAndIdleDispatchers: number };
  /** Redis CPU µs per worker heartbeat interval (every periodic write of a worker included). */
  redisUsPerHeartbeat: number;
  /** Redis CPU % of one core per idle dispatcher at the fleet's size. */
  redisCpuPerIdleDispatcher: number;
  join: { seenByAllMs: number; firstTaskMs: number; registerMs: number };
  death: {
    inflightOnVictim: number;
    /** When the killed workers' last heartbeat deadline fell, after the kill (Redis's clock). */
    lastDeadlineMs: number;
    droppedByAllMs: number;
    /** How long after its own deadline a killed worker was dropped by every dispatcher: median and max. */
    afterDeadlineMs: { p50: number; max: number };
    lastRedeliveredMs: number | undefined;
    redelivered: number;
    lost: number;
    errors: Record<string, number>;
    settled: number;
    sent: number;
  };
}

/** A child on an IPC channel, asked questions by request id. */
class Remote {
  readonly child: Child;
  #rid = 0;
  readonly #waiting = new Map<number, (body: DispatcherAnswer) => void>();
  readonly events: FleetEvent[] = [];
  #onEvent: (() => void) | undefined;

  constructor(child: Child) {
    this.child = child;
    child.process.on('message', (message: Record<string, unknown>) => {
      if (typeof message['rid'] === 'number') {
        this.#waiting.get(message['rid'])?.(message as unknown as DispatcherAnswer);
        this.#waiting.delete(message['rid']);
      } else {
        this.events.push(message as unknown as FleetEvent);
        this.#onEvent?.();
      }
    });
  }

  ask(command: DispatcherRequest): Promise<DispatcherAnswer> {
    const rid = ++this.#rid;
    const answer = new Promise<DispatcherAnswer>((resolve) => this.#waiting.set(rid, resolve));
    this.child.process.send({ ...command, rid });
    return withTimeout(Promise.race([answer, this.child.died]), 60_000, `${this.child.name}`);
  }

  tell(command: FleetCommand): void {
    this.child.process.send(command);
  }

  /** The first event matching `match`, past or future. */
  async event<E extends FleetEvent>(match: (e: FleetEvent) => e is E, ms: number): Promise<E> {
    const found = () => this.events.find(match) as E | undefined;
    await waitFor(() => found() !== undefined, ms, `${this.child.name}: event`, [this.child.died]);
    const error = this.events.find((e) => e.ev === 'error');
    if (error) throw new BenchError(`${this.child.name}: ${JSON.stringify(error)}`);
    return found()!;
  }
}

const isEv =
  <K extends FleetEvent['ev']>(ev: K) =>
  (e: FleetEvent): e is Extract<FleetEvent, { ev: K }> =>
    e.ev === ev;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round1 = (x: number) => Math.round(x * 10) / 10;
const round2 = (x: number) => Math.round(x * 100) / 100;

function env(url: string, namespace: string, extra: Record<string, string> = {}) {
  return { SCALE_REDIS_URL: url, SCALE_NAMESPACE: namespace, ...extra };
}

async function startFleet(
  name: string,
  url: string,
  namespace: string,
  ids: string[],
  concurrency: number,
): Promise<Remote> {
  const child = spawnChild(name, process.execPath, ['--import', 'tsx', FLEET], {
    env: env(url, namespace, { SCALE_CONCURRENCY: String(concurrency) }),
    ipc: true,
  });
  const fleet = new Remote(child);
  fleet.tell({ cmd: 'start', ids });
  await fleet.event(isEv('started'), 120_000);
  return fleet;
}

async function startDispatchers(
  url: string,
  namespace: string,
  count: number,
  label: string,
): Promise<Remote[]> {
  const remotes = Array.from({ length: count }, (_, i) => {
    const child = spawnChild(
      `dispatcher-${label}-${i + 1}`,
      process.execPath,
      ['--import', 'tsx', DISPATCHER],
      { env: env(url, namespace), ipc: true },
    );
    return new Remote(child);
  });
  // The first message (rid 0) says it started.
  await Promise.all(
    remotes.map((r) =>
      withTimeout(
        Promise.race([
          new Promise((resolve) => r.child.process.once('message', resolve)),
          r.child.died,
        ]),
        // A thousand workers' full read at start, on a loaded 2-core machine: minutes, not seconds.
        180_000,
        `${r.child.name} to start`,
      ),
    ),
  );
  return remotes;
}

async function untilSeen(dispatchers: Remote[], count: number, ms: number): Promise<void> {
  await waitFor(
    async () => {
      const seen = await Promise.all(dispatchers.map((d) => d.ask({ cmd: 'seen' })));
      return seen.every((s) => s.count >= count);
    },
    ms,
    `every dispatcher to see ${count} workers`,
  );
}

/** Mean CPU % of one core per process over a window, for dispatchers (asked) and Redis (/proc). */
async function cpuWindow(
  dispatchers: Remote[],
  redisPid: number | undefined,
  ms: number,
): Promise<{ dispatcher: number; redis: number }> {
  const before = await Promise.all(dispatchers.map((d) => d.ask({ cmd: 'cpu' })));
  const redisBefore = redisPid === undefined ? undefined : cpuMsOf(redisPid);
  const wallStart = performance.now();
  await sleep(ms);
  const after = await Promise.all(dispatchers.map((d) => d.ask({ cmd: 'cpu' })));
  const redisAfter = redisPid === undefined ? undefined : cpuMsOf(redisPid);
  const wall = performance.now() - wallStart;
  let sum = 0;
  dispatchers.forEach((_, i) => {
    const [a, b] = [after[i]!, before[i]!];
    sum += ((a.cpuMs - b.cpuMs) / (a.at - b.at)) * 100;
  });
  const redis =
    redisBefore === undefined || redisAfter === undefined
      ? Number.NaN
      : ((redisAfter - redisBefore) / wall) * 100;
  return { dispatcher: dispatchers.length > 0 ? sum / dispatchers.length : 0, redis };
}

/** Per killed worker, the last dispatcher's drop less its heartbeat deadline. */
function afterDeadline(
  gone: Array<{ droppedAt: Record<string, number> }>,
  deadlineAt: Map<string, number>,
): { p50: number; max: number } {
  const late = [...deadlineAt]
    .map(([id, deadline]) => Math.max(...gone.map((g) => g.droppedAt[id] ?? Number.NaN)) - deadline)
    .sort((a, b) => a - b);
  return { p50: late[Math.floor(late.length / 2)] ?? Number.NaN, max: late.at(-1) ?? Number.NaN };
}

async function stopAll(remotes: Remote[]): Promise<void> {
  await Promise.all(remotes.map((r) => r.child.stop()));
}

export async function runScale(o: {
  url: string;
  namespace: string;
  redisPid: number | undefined;
  shape: ScaleShape;
  progress: (line: string) => void;
}): Promise<ScaleResult> {
  const { url, shape, progress } = o;
  const window = shape.windowMs;

  // ── 2 workers: what a dispatcher costs when the fleet is small ──
  const small = `${o.namespace}-small`;
  const smallFleet = await startFleet('fleet-small', url, small, ['small-1', 'small-2'], 200);
  const smallDispatchers = await startDispatchers(url, small, shape.dispatchers, 'small');
  let idle2: { dispatcher: number; redis: number };
  let load2: { dispatcher: number; redis: number };
  try {
    await untilSeen(smallDispatchers, 2, 30_000);
    await sleep(1_000);
    idle2 = await cpuWindow(smallDispatchers, o.redisPid, window);
    progress(`scale: 2 workers, idle: ${round2(idle2.dispatcher)} % of a core per dispatcher`);
    await Promise.all(
      smallDispatchers.map((d) =>
        d.ask({ cmd: 'load', perSecond: shape.perSecond, taskMs: shape.taskMs }),
      ),
    );
    await sleep(1_000);
    load2 = await cpuWindow(smallDispatchers, o.redisPid, window);
    const outcomes = await Promise.all(
      smallDispatchers.map((d) => d.ask({ cmd: 'unload', settleMs: 35_000 })),
    );
    const unsettled = outcomes.reduce((a, r) => a + (r.outcome as LoadOutcome).unsettled, 0);
    if (unsettled > 0) throw new BenchError(`scale: ${unsettled} tasks never settled (2 workers)`);
    progress(`scale: 2 workers, load: ${round2(load2.dispatcher)} % of a core per dispatcher`);
  } finally {
    await stopAll([...smallDispatchers, smallFleet]);
  }

  // ── the fleet alone: what its heartbeats cost Redis ──
  const ns = o.namespace;
  const others = shape.workers - shape.victim;
  const fleets: Remote[] = [];
  const perFleet = Math.ceil(others / shape.fleets);
  const started = Date.now();
  for (let f = 0; f < shape.fleets; f++) {
    const ids = Array.from(
      { length: Math.min(perFleet, others - f * perFleet) },
      (_, i) => `w${f + 1}-${i + 1}`,
    );
    fleets.push(await startFleet(`fleet-${f + 1}`, url, ns, ids, 4));
  }
  const victimIds = Array.from({ length: shape.victim }, (_, i) => `victim-${i + 1}`);
  const victim = await startFleet('fleet-victim', url, ns, victimIds, 4);
  progress(`scale: ${shape.workers} workers started in ${Date.now() - started} ms`);
  const dispatchers: Remote[] = [];
  try {
    await sleep(2_000);
    const fleetOnly = await cpuWindow([], o.redisPid, window);
    const redisUsPerHeartbeat = (fleetOnly.redis * 10 * 1_000) / shape.workers;
    progress(
      `scale: fleet alone: redis ${round1(fleetOnly.redis)} % of a core, ` +
        `${round1(redisUsPerHeartbeat)} µs per heartbeat`,
    );

    // ── the dispatchers, idle, then under load ──
    dispatchers.push(...(await startDispatchers(url, ns, shape.dispatchers, 'fleet')));
    await untilSeen(dispatchers, shape.workers, 180_000);
    await sleep(2_000);
    const idleFleet = await cpuWindow(dispatchers, o.redisPid, window);
    progress(
      `scale: ${shape.workers} workers, idle: ${round2(idleFleet.dispatcher)} % of a core per ` +
        `dispatcher, redis ${round1(idleFleet.redis)} %`,
    );
    await Promise.all(
      dispatchers.map((d) =>
        d.ask({ cmd: 'load', perSecond: shape.perSecond, taskMs: shape.taskMs }),
      ),
    );
    await sleep(1_000);
    const loadFleet = await cpuWindow(dispatchers, o.redisPid, window);
    progress(
      `scale: ${shape.workers} workers, load: ${round2(loadFleet.dispatcher)} % of a core per dispatcher`,
    );

    // ── a worker joins under load ──
    fleets[0]!.tell({ cmd: 'join', id: 'joiner' });
    const joined = await fleets[0]!.event(isEv('joined'), 30_000);
    await waitFor(
      async () =>
        (await Promise.all(dispatchers.map((d) => d.ask({ cmd: 'sees', id: 'joiner' })))).every(
          (r) => r.sees,
        ),
      30_000,
      'every dispatcher to see the joiner',
    );
    const seenAt = Date.now();
    const first = await fleets[0]!.event(isEv('first-task'), 30_000);
    const join = {
      registerMs: joined.registeredAt - joined.startAt,
      seenByAllMs: seenAt - joined.registeredAt,
      firstTaskMs: first.at - joined.startAt,
    };
    progress(`scale: join: ${JSON.stringify(join)}`);

    // ── a process of workers dies under load ──
    const inflight = await Promise.all(
      dispatchers.map((d) => d.ask({ cmd: 'inflight-on', ids: victimIds })),
    );
    const killedAt = Date.now();
    victim.child.process.kill('SIGKILL');
    void victim.child.stop();
    const gonePending = Promise.all(
      dispatchers.map((d) => d.ask({ cmd: 'until-gone', ids: victimIds, timeoutMs: 30_000 })),
    );
    // Nothing can notice a death before its heartbeat deadline: the floor for droppedByAllMs.
    const raw = new Redis(url);
    const [deadlines, [seconds, micros]] = await Promise.all([
      raw.zmscore(names(o.namespace).heartbeatDeadlinesKey, ...victimIds),
      raw.time(),
    ]);
    await raw.quit();
    // Redis's clock less ours, to put its deadlines on our timeline (one machine: about 0).
    const offset = Number(seconds) * 1_000 + Math.floor(Number(micros) / 1_000) - Date.now();
    const deadlineAt = new Map(victimIds.map((id, i) => [id, Number(deadlines[i]) - offset]));
    const lastDeadlineMs = Math.max(...deadlineAt.values()) - killedAt;
    const gone = await gonePending;
    await sleep(2_000);
    const outcomes = (
      await Promise.all(dispatchers.map((d) => d.ask({ cmd: 'unload', settleMs: 35_000 })))
    ).map((r) => r.outcome as LoadOutcome);
    const late = outcomes.flatMap((r) => r.redeliveredAt).filter((t) => t >= killedAt);
    const errors: Record<string, number> = {};
    for (const r of outcomes) {
      for (const [code, n] of Object.entries(r.errors)) errors[code] = (errors[code] ?? 0) + n;
    }
    const death = {
      inflightOnVictim: inflight.reduce((a, r) => a + r.inflight, 0),
      lastDeadlineMs,
      droppedByAllMs: Math.max(...gone.map((g) => g.at)) - killedAt,
      afterDeadlineMs: afterDeadline(gone, deadlineAt),
      lastRedeliveredMs: late.length > 0 ? Math.max(...late) - killedAt : undefined,
      redelivered: late.length,
      lost: outcomes.reduce((a, r) => a + r.unsettled, 0),
      errors,
      sent: outcomes.reduce((a, r) => a + r.sent, 0),
      settled: outcomes.reduce((a, r) => a + r.settled, 0),
    };
    progress(`scale: death: ${JSON.stringify(death)}`);
    return {
      shape,
      dispatcherCpu: {
        idle2: round2(idle2.dispatcher),
        idleFleet: round2(idleFleet.dispatcher),
        load2: round2(load2.dispatcher),
        loadFleet: round2(loadFleet.dispatcher),
      },
      redisCpu: {
        fleetOnly: round1(fleetOnly.redis),
        fleetAndIdleDispatchers: round1(idleFleet.redis),
      },
      redisUsPerHeartbeat: round1(redisUsPerHeartbeat),
      redisCpuPerIdleDispatcher: round2((idleFleet.redis - fleetOnly.redis) / shape.dispatchers),
      join,
      death,
    };
  } finally {
    await stopAll([...dispatchers, ...fleets]);
  }
}
