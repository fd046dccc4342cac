import type { AuthStats, HandlerSummary, NackReason } from '@ringcast/protocol';

/** Counters since start, kept in place by the worker's collaborators. */
export interface WorkerCounters {
  /** Task messages received, duplicates included. */
  received: number;
  /** Acks sent (a result that stood in for its ack is not counted here). */
  acked: number;
  /** Handler runs that produced a value. */
  succeeded: number;
  /** Handler runs that threw, or whose value could not be sent. */
  failed: number;
  /** Tasks refused, by reason. */
  nacked: Record<NackReason, number>;
  /** Frames and messages dropped as invalid. */
  invalid: number;
  /**
   * Trace contexts (`traceparent`, `tracestate`) left out of tasks because they
   * did not validate: those tasks ran, untraced.
   */
  invalidTraceContexts: number;
  /** Re-sent attempts answered from the worker's record instead of running again. */
  duplicates: number;
  /** Attempts cancelled by their dispatcher (queued ones never run). */
  cancelled: number;
  /** Replies kept in Redis because their dispatcher was not subscribed. */
  parked: number;
  /** Replies dropped because Redis could not take them and the retry list was full. */
  dropped: number;
  /** Handlers running now. */
  inflight: number;
  /** Tasks waiting for a free slot now. */
  queued: number;
  /** Checks that found another live process subscribed to this worker's channel: its id runs twice. */
  sharedChannel: number;
  /** Whether another live process holds this worker's id, so this one stopped taking tasks. */
  fenced: boolean;
  /**
   * Slots held now by handlers that outlived their task's deadline by more than a
   * second (they ignore `ctx.signal`); dispatchers count them against this
   * worker's capacity until they return.
   */
  overdue: number;
}

/** Counters at zero. The collaborators update them in place: one object, no per-task cost. */
export function zeroStats(): WorkerCounters {
  return {
    received: 0,
    acked: 0,
    succeeded: 0,
    failed: 0,
    nacked: {
      BUSY: 0,
      DRAINING: 0,
      UNKNOWN_HANDLER: 0,
      EXPIRED: 0,
      INVALID_MESSAGE: 0,
      WORKER_LOST: 0,
    },
    invalid: 0,
    invalidTraceContexts: 0,
    duplicates: 0,
    cancelled: 0,
    parked: 0,
    dropped: 0,
    inflight: 0,
    queued: 0,
    sharedChannel: 0,
    fenced: false,
    overdue: 0,
  };
}

/** What `worker.stats()` returns: the counters, the weight, and per-handler execution statistics. */
export interface WorkerStats extends WorkerCounters {
  /** The weight the worker has now, in the registry and every dispatcher's ring. */
  weight: number;
  /** The weight it was started with (`weight` option, `--weight`). */
  configuredWeight: number;
  /**
   * Whether `weight` is the operator's (a reweight request, or the weight policy
   * hash) rather than the configured one.
   */
  weightFromPolicy: boolean;
  /**
   * Per registered handler, since start: runs that succeeded, failed (by code:
   * `HANDLER_ERROR`, `TIMEOUT`, `CANCELLED`, …) and ran an attempt after the
   * first; runs per second and per minute; the handler's execution time in ms
   * (p50, p90, p99, max, avg). The same figures the worker publishes to Redis.
   */
  handlers: Record<string, HandlerSummary>;
  /**
   * Frame authentication: whether it is on, the key frames are signed with,
   * frames verified, and frames dropped before they were parsed, by reason
   * (`unsigned`, `signed`, `malformed`, `too_large`, `unknown_key`,
   * `wrong_channel`, `bad_mac`, `stale`, `replay`, `decrypt`); `replay` also
   * counts operator requests not newer than the last one applied. Dropped
   * frames are not in `invalid`.
   */
  auth: AuthStats;
}

/** A copy the caller may keep. */
export function snapshot(
  stats: WorkerCounters,
  weight: { current: number; configured: number; source: 'configured' | 'policy' },
  handlers: Record<string, HandlerSummary>,
  auth: AuthStats,
): WorkerStats {
  return {
    ...stats,
    nacked: { ...stats.nacked },
    weight: weight.current,
    configuredWeight: weight.configured,
    weightFromPolicy: weight.source === 'policy',
    handlers,
    auth,
  };
}
