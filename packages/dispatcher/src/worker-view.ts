import { routable, type WorkerState } from './worker-state.js';

/** What the dispatcher knows of one live worker. */
export interface WorkerView {
  id: string;
  incarnation: string;
  weight: number;
  concurrency: number;
  maxQueue: number;
  handlers: string[];
  host: string;
  pid: number;
  /** The largest frame it accepts: no task larger is sent to it. */
  maxMessageBytes: number;
  /** Attempts this dispatcher has on the worker now. */
  inflight: number;
  /**
   * False while the worker is suspected (no ack, nobody subscribed), leaving, or
   * its event loop is blocked (it gets no new tasks until it turns again).
   */
  healthy: boolean;
  /** How long its event loop had been blocked at its last heartbeat, in ms; 0 while it turns. */
  blockedMs: number;
  /**
   * Its slots held past their task's deadline by handlers that ignore their signal;
   * they are taken off the capacity this dispatcher uses on it.
   */
  overdue: number;
  /** Milliseconds since the worker was last heard from. */
  lastSeenMs: number;
}

/** What `workers()` shows of a worker this dispatcher counts, as of `now`. */
export function viewOf(w: WorkerState, now: number): WorkerView {
  return {
    id: w.id,
    incarnation: w.incarnation,
    weight: w.weight,
    concurrency: w.concurrency,
    maxQueue: w.info.maxQueue,
    maxMessageBytes: w.maxMessageBytes,
    handlers: [...w.handlers],
    host: w.info.host,
    pid: w.info.pid,
    inflight: w.inflight,
    healthy: routable(w, now),
    lastSeenMs: now - w.lastSeen,
    blockedMs: w.blockedMs,
    overdue: w.overdue,
  };
}
