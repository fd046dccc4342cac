/**
 * A run's calls, drawn from a seed: when each `dispatch()` happens, on which
 * dispatcher, what its handler does, its timeout, retries and signal, and its
 * payload size (some near the message limit, a few over it).
 */
import type { Checker, Outcome } from './checker.js';
import { MAX_ATTEMPTS, MAX_MESSAGE_BYTES, SMALL_MESSAGE_BYTES } from './deployment-settings.js';
import type { Random } from './random.js';
import { HANDLER, type Mode, type Payload } from './sim-handler.js';
import type { SimDispatcher } from './sim-process.js';
import type { World } from './world.js';

export interface PlannedCall {
  call: number;
  at: number;
  dispatcher: number;
  payload: Payload;
  timeoutMs: number;
  retries: number;
  /** Ms after the dispatch at which its signal aborts; undefined: no signal. */
  abortAfterMs: number | undefined;
  /** Its routing key (consistent-hash), from a few shared ones; undefined: none. */
  key?: string;
  /** Its priority in the local queue; undefined: the default. */
  priority?: number;
  /** Ms it waits before it is due; undefined: none. Its timeout counts from then. */
  delayMs?: number;
  /** A durable task: `submit()`; its abort is a `cancel(id)`. */
  durable?: boolean;
  /** Durable: another call waits for its outcome with `result(id)` on some live dispatcher. */
  awaitResult?: boolean;
}

export interface WorkloadPlan {
  windowMs: number;
  calls: number;
  dispatchers: number;
  /** Calls made at one instant on the first dispatcher, on top of the others: a flood run's burst. */
  burst?: number;
  /**
   * A durable run's own generator: about half its calls are durable. Drawn apart
   * from the rest, so a run without durable tasks is the same as before they existed.
   */
  durable?: Random;
}

const MODES: readonly Mode[] = [
  'sync',
  'async',
  'async',
  'abortable',
  'retryable',
  'throw',
  'ignore-signal',
];

/** Draws the calls of a run, in time order. */
export function planWorkload(random: Random, plan: WorkloadPlan): PlannedCall[] {
  const calls: PlannedCall[] = [];
  for (let i = 0; i < plan.calls; i++) {
    const call = i + 1;
    const mode = random.pick(MODES);
    const timeoutMs = random.int(500, 5_000);
    const size = random.next();
    // Most payloads are small; some are near one of the limits, a few just over it.
    const limit = random.chance(0.5) ? MAX_MESSAGE_BYTES : SMALL_MESSAGE_BYTES;
    const padBytes =
      size < 0.9
        ? random.int(0, 200)
        : size < 0.97
          ? limit - random.int(150, 700)
          : limit + random.int(-100, 200);
    const echo = `e${call}`;
    calls.push({
      call,
      at: random.int(0, plan.windowMs),
      dispatcher: random.int(0, plan.dispatchers - 1),
      payload: {
        call,
        echo,
        mode,
        delayMs: mode === 'ignore-signal' ? random.int(1_000, 8_000) : random.int(0, 1_500),
        failRuns: mode === 'retryable' ? random.int(0, 3) : 0,
        ...(padBytes > 0 ? { pad: 'x'.repeat(Math.max(0, padBytes)) } : {}),
      },
      timeoutMs,
      retries: random.int(0, 2),
      abortAfterMs: random.chance(0.15) ? random.int(0, timeoutMs) : undefined,
      ...(random.chance(0.5) ? { key: `k${random.int(1, 8)}` } : {}),
      ...(random.chance(0.3) ? { priority: random.int(-3, 3) } : {}),
      ...(random.chance(0.15) ? { delayMs: random.int(0, 2_000) } : {}),
    });
    if (plan.durable?.chance(0.5)) {
      const planned = calls[calls.length - 1]!;
      planned.durable = true;
      planned.awaitResult = plan.durable.chance(0.5);
    }
  }
  // A burst: small, quick calls all at once, so frames carry more than MAX_BATCH messages each way.
  // Early, before most faults: it is there to fill frames, and a fault would take its worker away.
  const burstAt = random.int(0, Math.min(200, plan.windowMs));
  for (let i = 0; i < (plan.burst ?? 0); i++) {
    const call = plan.calls + i + 1;
    calls.push({
      call,
      at: burstAt,
      dispatcher: 0,
      payload: { call, echo: `e${call}`, mode: 'sync', delayMs: 0, failRuns: 0 },
      timeoutMs: 10_000,
      retries: 0,
      abortAfterMs: undefined,
    });
  }
  return calls.sort((a, b) => a.at - b.at || a.call - b.call);
}

/**
 * Schedules every planned call on the world's clock; each reports to the
 * checker. Calls planned for the same millisecond are made in one turn, as an
 * application making them in one loop: their tasks can share frames.
 */
export function scheduleWorkload(world: World, checker: Checker, calls: readonly PlannedCall[]) {
  const { clock } = world;
  for (let i = 0; i < calls.length; ) {
    const at = calls[i]!.at;
    let end = i;
    while (end < calls.length && calls[end]!.at === at) end++;
    const together = calls.slice(i, end);
    clock.setTimeout(() => {
      for (const planned of together) dispatchOne(world, checker, planned);
    }, at);
    i = end;
  }
}

function dispatchOne(world: World, checker: Checker, planned: PlannedCall): void {
  const { call } = planned;
  const live = world.liveDispatchers;
  if (live.length === 0) {
    world.log(`call ${call} not made: no dispatcher is up`);
    return;
  }
  const dispatcher = live[planned.dispatcher % live.length]!;
  // The application runs on the dispatcher's process: paused, it makes the call once it runs again.
  dispatcher.clock.run(() => {
    if (planned.durable) submitOne(world, checker, planned, dispatcher);
    else dispatchOn(world, checker, planned, dispatcher);
  });
}

function dispatchOn(
  world: World,
  checker: Checker,
  planned: PlannedCall,
  dispatcher: SimDispatcher,
): void {
  const { clock } = world;
  const { call, payload, timeoutMs, retries } = planned;
  checker.dispatched(call, payload.echo, dispatcher.maxAttempts + retries, clock.now());
  dispatcher.open.add(call);
  let signal: AbortSignal | undefined;
  if (planned.abortAfterMs !== undefined) {
    const controller = new AbortController();
    signal = controller.signal;
    // The caller's own timer, on its process: a dispatcher that died aborts nothing.
    dispatcher.clock.setTimeout(() => {
      world.log(`call ${call}: signal aborted`);
      controller.abort();
    }, planned.abortAfterMs);
  }
  world.log(
    `call ${call} dispatched on ${dispatcher.id}: ${payload.mode} ${payload.delayMs} ms, timeout ${timeoutMs}, retries ${retries}, pad ${payload.pad?.length ?? 0}${planned.priority === undefined ? '' : `, priority ${planned.priority}`}${planned.delayMs === undefined ? '' : `, due in ${planned.delayMs} ms`}`,
  );
  let promise: Promise<unknown>;
  try {
    promise = dispatcher.core.dispatch(HANDLER, payload, {
      timeoutMs,
      retries,
      signal,
      ...(planned.key === undefined ? {} : { key: planned.key }),
      ...(planned.priority === undefined ? {} : { priority: planned.priority }),
      ...(planned.delayMs === undefined ? {} : { delayMs: planned.delayMs }),
    });
  } catch (error) {
    world.errors.push(`dispatch() of call ${call} threw synchronously: ${String(error)}`);
    checker.settled(call, { ok: false, code: 'THREW', message: String(error) }, clock.now());
    return;
  }
  promise.then(
    (value) => {
      dispatcher.open.delete(call);
      world.log(`call ${call} settled ok`);
      checker.settled(call, { ok: true, value }, clock.now());
    },
    (error: unknown) => {
      dispatcher.open.delete(call);
      const failed = failure(error);
      world.log(`call ${call} settled ${failed.code}`);
      checker.settled(call, failed, clock.now());
    },
  );
}

/** A durable call: `submit()`, then perhaps a `cancel(id)` and a `result(id)` elsewhere. */
function submitOne(
  world: World,
  checker: Checker,
  planned: PlannedCall,
  dispatcher: SimDispatcher,
): void {
  const { clock } = world;
  const { call, payload, timeoutMs, retries } = planned;
  // An adopted task runs under its adopter's maxAttempts: the largest any dispatcher draws.
  checker.dispatched(call, payload.echo, MAX_ATTEMPTS + retries, clock.now(), true);
  dispatcher.open.add(call);
  world.log(
    `call ${call} submitted on ${dispatcher.id}: ${payload.mode} ${payload.delayMs} ms, timeout ${timeoutMs}, retries ${retries}, pad ${payload.pad?.length ?? 0}${planned.priority === undefined ? '' : `, priority ${planned.priority}`}${planned.delayMs === undefined ? '' : `, due in ${planned.delayMs} ms`}`,
  );
  dispatcher.core
    .submit(HANDLER, payload, {
      timeoutMs,
      retries,
      ...(planned.key === undefined ? {} : { key: planned.key }),
      ...(planned.priority === undefined ? {} : { priority: planned.priority }),
      ...(planned.delayMs === undefined ? {} : { delayMs: planned.delayMs }),
    })
    .then(
      (taskId) => {
        dispatcher.open.delete(call);
        world.log(`call ${call} stored as ${taskId}`);
        checker.submitted(call, taskId);
        if (planned.abortAfterMs !== undefined) {
          clock.setTimeout(() => cancelOne(world, checker, call, taskId), planned.abortAfterMs);
        }
        if (planned.awaitResult) awaitOne(world, checker, call, taskId, planned.dispatcher);
      },
      (error: unknown) => {
        dispatcher.open.delete(call);
        const failed = failure(error);
        world.log(`call ${call} not stored: ${failed.code}`);
        checker.submitFailed(call, failed, clock.now());
      },
    );
}

function cancelOne(world: World, checker: Checker, call: number, taskId: string): void {
  const d = world.liveDispatchers[call % Math.max(1, world.liveDispatchers.length)];
  if (!d) return;
  checker.cancelCalled(call);
  world.log(`call ${call}: cancel(${taskId}) on ${d.id}`);
  d.core.cancel(taskId).then(
    (cancelled) => world.log(`call ${call}: cancel answered ${cancelled}`),
    (error: unknown) => world.log(`call ${call}: cancel rejected ${failure(error).code}`),
  );
}

function awaitOne(world: World, checker: Checker, call: number, taskId: string, pick: number) {
  const live = world.liveDispatchers;
  const d = live[(pick + 1) % Math.max(1, live.length)];
  if (!d) return;
  d.core.result(taskId, { timeoutMs: 20_000 }).then(
    (value) => checker.resultHeard(call, { ok: true, value }),
    (error: unknown) => checker.resultHeard(call, failure(error)),
  );
}

function failure(error: unknown): Outcome & { ok: false } {
  const code = (error as { code?: unknown } | null)?.code;
  const message = (error as { message?: unknown } | null)?.message;
  return {
    ok: false,
    code: typeof code === 'string' ? code : 'NOT_A_DISPATCH_ERROR',
    message: String(message),
  };
}
