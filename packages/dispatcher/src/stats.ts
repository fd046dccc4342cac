/** The dispatcher's counters, and the snapshot `stats()` returns. */
import type {
  AuthStats,
  ErrorCode,
  HandlerSummary,
  RemoteError,
  WorkerReport,
} from '@ringcast/protocol';
import type { DurableStats } from './durable/durable-tasks.js';
import { DispatchError } from './errors.js';

export interface DispatcherStats {
  /** Calls admitted: each is settled, in flight, queued or delayed, so `settled.ok + Σ settled.error + inflight + queued + delayed === dispatched`. */
  dispatched: number;
  /** Admitted calls that settled, by outcome. */
  settled: { ok: number; error: Partial<Record<ErrorCode, number>> };
  /** Calls refused before admission (closed, bad arguments, too large, queue full, aborted signal), by code; not in `dispatched`. */
  rejected: Partial<Record<ErrorCode, number>>;
  /** New attempts made because an earlier one was lost, refused or failed. */
  redelivered: number;
  /** Replies for an attempt that was no longer current, dropped. */
  staleReplies: number;
  /** Frames or messages from Redis that failed validation, dropped. */
  invalidMessages: number;
  /** Replies workers parked while this dispatcher was not subscribed, recovered. */
  recoveredReplies: number;
  /** Tasks waiting in the local queue for a worker with room. */
  queued: number;
  /** Tasks not due yet (`delayMs`, `runAt`). */
  delayed: number;
  /** Tasks sent to a worker, or between attempts. */
  inflight: number;
  workers: number;
  /** Durable tasks run here; `dispatched` and `settled` count them too (each run once). */
  durable: DurableStats;
  /**
   * Per handler, the calls this dispatcher settled since start: succeeded,
   * failed by code, settled after more than one attempt; settlements per second
   * and per minute; end-to-end latency in ms, `dispatch()` to settlement (p50,
   * p90, p99, max, avg).
   */
  handlers: Record<string, HandlerSummary>;
  /**
   * Every live worker's own report, by worker id, as it published it to Redis:
   * per handler, its runs and the handler's execution time, for all the tasks
   * it ran, whoever sent them. Read about once a second while `stats()` is
   * being called; the first call after a quiet spell of 10 s shows the last
   * reports read (or none) and starts the reads.
   */
  workerStats: Record<string, WorkerReport>;
  /**
   * Frame authentication: whether it is on, the key frames are signed with,
   * frames verified, and frames dropped before they were parsed, by reason
   * (`unsigned`, `signed`, `malformed`, `too_large`, `unknown_key`,
   * `wrong_channel`, `bad_mac`, `stale`, `replay`, `decrypt`). Dropped frames
   * are not in `invalidMessages`.
   */
  auth: AuthStats;
}

/** The running counts; the modules that see each event count it here. */
export class Counters {
  dispatched = 0;
  ok = 0;
  readonly error: Partial<Record<ErrorCode, number>> = {};
  readonly rejected: Partial<Record<ErrorCode, number>> = {};
  redelivered = 0;
  staleReplies = 0;
  invalidMessages = 0;
  recoveredReplies = 0;
  /** Tasks admitted and not due yet. */
  delayed = 0;

  /** Counts a call refused before admission (`stats().rejected`) and returns its error. */
  refuse(error: DispatchError): DispatchError {
    this.rejected[error.code] = (this.rejected[error.code] ?? 0) + 1;
    return error;
  }

  /** Builds the rejection of an admitted task, and counts it: every error a caller sees is in `stats()`. */
  failure(code: ErrorCode, message: string, remote?: RemoteError): DispatchError {
    this.error[code] = (this.error[code] ?? 0) + 1;
    return new DispatchError(code, message, remote ? { remote } : {});
  }

  /** `unsettled` is every task in the ledger: queued, delayed and in flight. */
  snapshot(
    queued: number,
    unsettled: number,
    workers: number,
  ): Omit<DispatcherStats, 'durable' | 'handlers' | 'workerStats' | 'auth'> {
    return {
      dispatched: this.dispatched,
      settled: { ok: this.ok, error: { ...this.error } },
      rejected: { ...this.rejected },
      redelivered: this.redelivered,
      staleReplies: this.staleReplies,
      invalidMessages: this.invalidMessages,
      recoveredReplies: this.recoveredReplies,
      queued,
      delayed: this.delayed,
      inflight: unsettled - queued - this.delayed,
      workers,
    };
  }
}
