/**
 * The worker's collaborators (see worker.ts for each one's part), made and
 * wired together for one worker. The lifecycle they serve (start, close,
 * fencing) is worker.ts's; it reaches them through {@link WorkerParts}, and
 * they reach it back through {@link WorkerHost}.
 */
import {
  FrameGuard,
  type Names,
  RateLimitedLog,
  TaskTable,
  type WorkerInfo,
} from '@ringcast/protocol';
import { Admission } from './admission.js';
import type { Attempt } from './attempt.js';
import { AttemptSpans } from './attempt-spans.js';
import { ExecutionStats } from './execution-stats.js';
import { Executor } from './executor.js';
import { GuardedWorkerTransport } from './guarded-transport.js';
import { IdentityClaim } from './identity.js';
import { Intake } from './intake.js';
import { type Metrics, workerMetrics } from './metrics.js';
import { Operator } from './operator.js';
import type { ResolvedOptions } from './options.js';
import { OverdueSlots } from './overdue.js';
import { Recovery } from './recovery.js';
import { Registration } from './registration.js';
import { Replies } from './replies.js';
import { safeString } from './serialize.js';
import { type WorkerCounters, zeroStats } from './stats.js';
import { STATS_INTERVAL_MS, StatsPublisher } from './stats-publisher.js';
import type { PresenceHandle, WorkerTransport } from './transport.js';

/** Settings of the core that are not worker options: for tests and the simulator only. */
export interface CoreTuning {
  /**
   * Bytes kept of finished attempts' replies, to answer re-sends (default 16 MiB).
   * The simulator runs thousands of short-lived workers that finish a few tasks each.
   */
  finishedBytes?: number;
}

export type WorkerState = 'idle' | 'starting' | 'running' | 'closing' | 'closed';

/** What the collaborators ask of the worker that owns them. */
export interface WorkerHost {
  state(): WorkerState;
  /** The heartbeat, once start() made it. */
  presence(): PresenceHandle | undefined;
  /** The subscription is (or is not) known to be live: the heartbeat runs only while it is. */
  setLive(live: boolean): void;
  /** An operator asked for a drain: close the worker, as a drain. */
  drain(): void;
}

/** One worker's collaborators. */
export interface WorkerParts {
  names: Names;
  /** The transport every collaborator uses: each frame in and out passes {@link guard}. */
  transport: WorkerTransport;
  guard: FrameGuard;
  stats: WorkerCounters;
  /** Warnings, at most one per kind per {@link LOG_INTERVAL_MS}. */
  warnings: RateLimitedLog;
  /** Errors (a duplicate id), likewise. */
  errors: RateLimitedLog;
  registration: Registration;
  /** The registry entry as it stands (the registration's). */
  info: WorkerInfo;
  execution: ExecutionStats;
  metrics: Metrics | undefined;
  publisher: StatsPublisher;
  replies: Replies;
  executor: Executor;
  admission: Admission;
  intake: Intake;
  operator: Operator;
  recovery: Recovery;
  identity: IdentityClaim;
}

const LOG_INTERVAL_MS = 10_000;

/** Makes worker `options.id`'s collaborators on `inner`, the transport under the guard. */
export function wireWorker(
  options: ResolvedOptions,
  names: Names,
  inner: WorkerTransport,
  tuning: CoreTuning,
  host: WorkerHost,
): WorkerParts {
  const stats = zeroStats();
  const { clock } = inner;
  const now = () => clock.now();
  const { logger } = options;
  const warnings = new RateLimitedLog((l, f) => logger.warn(l, f), LOG_INTERVAL_MS, now);
  const errors = new RateLimitedLog((l, f) => logger.error(l, f), LOG_INTERVAL_MS, now);
  const guard = new FrameGuard({
    keyring: options.auth,
    clock,
    maxBytes: options.maxMessageBytes,
    log: (kind, line, fields) => warnings.log(kind, line, fields),
  });
  // Every frame in and out passes the guard: the collaborators get only this transport.
  const transport = new GuardedWorkerTransport(inner, guard, names, options.id);
  const registration = new Registration(options, names, transport);
  const info = registration.info;
  const execution = new ExecutionStats(options.handlers.keys(), clock);
  let metrics: Metrics | undefined;
  if (options.metrics) {
    const made = workerMetrics(execution.book, stats, () => guard.stats().dropped);
    execution.observe(made);
    metrics = made;
  }
  const publisher = new StatsPublisher({
    clock,
    transport,
    execution,
    counters: stats,
    incarnation: info.incarnation,
    ttlMs: Math.max(options.heartbeatTtlMs, 3 * STATS_INTERVAL_MS),
    warn: (line) => warnings.log('stats', line),
  });
  const live = new TaskTable<Attempt, string>((attempt) => attempt.task.token);
  const replies = new Replies(
    { ...options, ...tuning, incarnation: info.incarnation, names },
    transport,
    stats,
    warnings,
    { closed: () => host.state() === 'closed' },
  );
  const overdue = new OverdueSlots(options.concurrency, options.logger, (count) =>
    admission.overdueChanged(count),
  );
  const executor = new Executor(
    options.id,
    options.concurrency,
    clock,
    stats,
    live,
    replies,
    overdue,
    execution,
    new AttemptSpans(options.id),
  );
  const admission = new Admission(options, stats, live, executor, replies, {
    accepting: () => host.state() === 'running' || host.state() === 'starting',
    overdueChanged: (count) => host.presence()?.setOverdue(count),
  });
  const intake = new Intake(
    { ...options, incarnation: info.incarnation },
    clock,
    warnings,
    stats,
    live,
    admission,
    executor,
    replies,
    {
      fenced: () => stats.fenced,
      probe: (data) => recovery.probe(data),
      operator: () => operator,
      replayed: () => guard.refuse('replay', names.workerChannel(options.id)),
    },
  );
  const operator = new Operator(options, warnings, {
    info,
    presence: () => host.presence(),
    open: () => host.state() === 'starting' || host.state() === 'running',
    serving: () => host.state() === 'running' && !stats.fenced,
    register: () => registration.register(true),
    drain: () => host.drain(),
  });
  const recovery = new Recovery(names.workerChannel(options.id), transport, {
    serving: () => host.state() === 'running' && !stats.fenced,
    register: () => registration.register(),
    restored: () => {
      host.setLive(true);
      options.logger.info('subscription restored, re-registered');
      replies.resend();
    },
    failed: (error) => warnings.log('resubscribe', `re-subscribing failed: ${safeString(error)}`),
  });
  const identity = new IdentityClaim(
    transport,
    clock,
    options.namespace,
    options.id,
    info.incarnation,
    options.heartbeatTtlMs,
  );
  return {
    names,
    transport,
    guard,
    stats,
    warnings,
    errors,
    registration,
    info,
    execution,
    metrics,
    publisher,
    replies,
    executor,
    admission,
    intake,
    operator,
    recovery,
    identity,
  };
}
