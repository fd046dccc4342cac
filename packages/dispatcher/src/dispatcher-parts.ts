/**
 * The dispatcher's collaborators (see dispatcher.ts for each one's part), made
 * and wired together for one dispatcher. The lifecycle they serve (start,
 * close) is dispatcher.ts's; it reaches them through {@link DispatcherParts},
 * and they reach it back through {@link DispatcherHost}.
 */
import { FrameGuard, HandlerStatsBook, isClusterTarget, names } from '@ringcast/protocol';
import { Delivery } from './delivery.js';
import { DurableTasks } from './durable/durable-tasks.js';
import { newTaskId } from './durable/task-id.js';
import { GuardedTransport } from './guarded-transport.js';
import { Intake } from './intake.js';
import { Ledger } from './ledger.js';
import { LocalQueue } from './local-queue.js';
import { DispatcherLog } from './log.js';
import { Membership } from './membership.js';
import { dispatcherMetrics } from './metrics.js';
import type { ResolvedOptions } from './options.js';
import { Recovery } from './recovery.js';
import { Replies } from './replies.js';
import { Settlement } from './settlement.js';
import { Counters } from './stats.js';
import { StatsPublisher } from './stats-publisher.js';
import { createStrategy } from './strategies/factory.js';
import { TaskTraces } from './task-traces.js';
import { Timeouts } from './timeouts.js';
import { TimerWheel } from './timer-wheel.js';
import type { DispatcherTransport } from './transport.js';
import { WorkerReports } from './worker-reports.js';
import type { Task, WorkerState } from './worker-state.js';

/** Settings of the core that are not dispatcher options: for tests and the simulator only. */
export interface CoreTuning {
  /**
   * Makes durable task ids (default: 21 random characters). The simulator's are
   * drawn from its seed, so that a run replays the same: the backlog orders
   * tasks of one priority and millisecond by id.
   */
  taskId?: () => string;
}

export type DispatcherState = 'new' | 'starting' | 'running' | 'closing' | 'closed';

/** What the collaborators ask of the dispatcher that owns them. */
export interface DispatcherHost {
  state(): DispatcherState;
}

/** The wheel's resolution: deadlines and ack windows fire within this of their time. */
const TICK_MS = 10;

/** One dispatcher's collaborators. */
export type DispatcherParts = ReturnType<typeof wireDispatcher>;

/** Makes one dispatcher's collaborators and wires them together. */
export function wireDispatcher(
  options: ResolvedOptions,
  inner: DispatcherTransport,
  tuning: CoreTuning,
  host: DispatcherHost,
) {
  const clock = inner.clock;
  const id = options.id;
  const ns = names(options.namespace, { cluster: isClusterTarget(options.redis) });
  const replyChannel = ns.replyChannel(id);
  /** Every channel the dispatcher hears; a reconnected subscriber has none until they are subscribed again. */
  const channels = [replyChannel, ns.controlChannel, ns.settledChannel, ns.cancelChannel];
  const counters = new Counters();
  const log = new DispatcherLog(options.logger, id, clock);
  const guard = new FrameGuard({
    keyring: options.auth,
    clock,
    maxBytes: options.maxMessageBytes,
    log: (kind, line, fields) => log.warn(kind, line, fields),
  });
  // Every frame in and out passes the guard: the collaborators get only this transport.
  const transport = new GuardedTransport(inner, guard);
  const ledger = new Ledger();
  const traces = new TaskTraces();
  const handlers = new HandlerStatsBook();
  const strategy = createStrategy<WorkerState>(options.strategy, {
    hashLoadEpsilon: options.hashLoadEpsilon,
  });
  // Some collaborators need others made after them: reached through these when called.
  let timeouts: Timeouts;
  let delivery: Delivery;
  let durable: DurableTasks;
  let recovery: Recovery;
  const metrics = options.metrics
    ? dispatcherMetrics({
        handlers,
        redelivered: () => counters.redelivered,
        framesDropped: () => guard.stats().dropped,
        inflight: () => ledger.size - queue.size - counters.delayed,
        queued: () => queue.size,
        workers: () => membership.size,
      })
    : undefined;
  const reports = new WorkerReports({
    clock,
    transport,
    workerIds: () => membership.view(clock.now()).map((w) => w.id),
    warn: (line) => log.warn('worker-stats', line),
  });
  const publisher = new StatsPublisher({
    clock,
    transport,
    handlers,
    ttlMs: options.statsTtlMs,
    warn: (line) => log.warn('stats', line),
  });
  // Collaborators are made one after another, and some need each other: a host
  // names what it needs, and reaches a later one through a binding above when called.
  const wheel = new TimerWheel<Task>(clock, TICK_MS, (task, now) => timeouts.wake(task, now));
  const queue = new LocalQueue({
    send: (task) => delivery.send(task),
    failIfUnrunnable: (task) => delivery.failIfUnrunnable(task),
  });
  const later = {
    redeliver: (task: Task, ran: boolean, why: string) => delivery.redeliver(task, ran, why),
    requeue: (task: Task) => delivery.requeue(task),
    due: (task: Task, now: number) => delivery.due(task, now),
    resend: (task: Task, ackBy: number) => delivery.resend(task, ackBy),
  };
  const membership = new Membership({
    id,
    names: ns,
    options,
    clock,
    transport,
    strategy,
    ledger,
    delivery: later,
    queue,
    wheel,
    counters,
    log,
    running: () => host.state() === 'running',
  });
  const settlement = new Settlement({
    ledger,
    queue,
    wheel,
    counters,
    clock,
    handlers,
    observer: metrics,
    log,
    traces,
    cancelRemote: (worker, taskId, token, everyone) =>
      delivery.cancelRemote(worker, taskId, token, everyone),
  });
  delivery = new Delivery({
    id,
    options,
    clock,
    transport,
    strategy,
    wheel,
    queue,
    counters,
    log,
    settlement,
    traces,
    workerOn: (channel) => membership.onChannel(channel),
    largestFrameFor: (handler) => membership.largestFrameFor(handler),
    workerCount: () => membership.size,
    durableStarted: (task, worker, now) => durable.started(task, worker, now),
  });
  const replies = new Replies({
    names: ns,
    options,
    clock,
    counters,
    log,
    ledger,
    membership,
    wheel,
    queue,
    delivery: later,
    settlement,
    strategy,
    recover: (attempts) => recovery.recover(attempts),
    stoppedElsewhere: (task, why) => durable.stoppedElsewhere(task, why),
  });
  timeouts = new Timeouts({
    options,
    clock,
    transport,
    wheel,
    queue,
    membership,
    delivery: later,
    settlement,
    log,
  });
  recovery = new Recovery({
    channels,
    replyChannel,
    options,
    clock,
    transport,
    counters,
    log,
    ledger,
    membership,
    delivery: later,
    replies,
  });
  const closedReason = (): string | undefined => {
    const state = host.state();
    if (state === 'running') return undefined;
    const why = state === 'new' || state === 'starting' ? 'not started' : 'closed';
    return `dispatcher ${id} is ${why}`;
  };
  durable = new DurableTasks({
    id,
    names: ns,
    options,
    clock,
    counters,
    log,
    ledger,
    membership,
    queue,
    wheel,
    delivery,
    settlement,
    traces,
    transport,
    replayParked: (frames) => recovery.replayParked(frames),
    newTaskId: tuning.taskId ?? newTaskId,
    closedReason,
    closing: () => host.state() === 'closing' || host.state() === 'closed',
  });
  const intake = new Intake({
    id,
    options,
    clock,
    counters,
    ledger,
    membership,
    queue,
    wheel,
    delivery,
    settlement,
    traces,
    closedReason,
  });
  return {
    names: ns,
    replyChannel,
    channels,
    clock,
    transport,
    counters,
    log,
    ledger,
    handlers,
    wheel,
    queue,
    membership,
    settlement,
    delivery,
    replies,
    recovery,
    durable,
    intake,
    reports,
    publisher,
    metrics,
    guard,
  };
}
