/**
 * One flat record per live worker: what `ringcast workers` prints, as a table
 * or as JSON, and what a dashboard lists. Absent figures are null, so every
 * row has every field.
 */
import type { ClusterView } from './cluster-view.js';

export interface WorkerRow {
  id: string;
  /** The weight dispatchers give it now (its registry entry's). */
  weight: number;
  /** The operator's weight for it (`ringcast reweight`), or null for none. */
  policyWeight: number | null;
  concurrency: number;
  maxQueue: number;
  /** Handlers running, as of its latest stats report; null before its first (or from a worker that does not say). */
  inflight: number | null;
  /** Tasks waiting for a slot, as of the same report. */
  queued: number | null;
  /** Slots held by handlers that outlived their task's deadline (its heartbeat's `overdue`). */
  stuckSlots: number;
  /** How long its event loop had been blocked at its last heartbeat, ms; 0 while it turns. */
  blockedMs: number;
  handlers: string[];
  /** Milliseconds since its heartbeat was last written; null when it does not advertise its TTL. */
  heartbeatAgeMs: number | null;
  host: string;
  pid: number;
  version: string;
  incarnation: string;
  /** Epoch ms. */
  startedAt: number;
}

export function workerRows(view: ClusterView): WorkerRow[] {
  return view.workers.map((w) => ({
    id: w.id,
    weight: w.info.weight,
    policyWeight: w.policyWeight ?? null,
    concurrency: w.info.concurrency,
    maxQueue: w.info.maxQueue,
    inflight: w.report?.inflight ?? null,
    queued: w.report?.queued ?? null,
    stuckSlots: w.heartbeat.overdue,
    blockedMs: w.heartbeat.blockedMs,
    handlers: [...w.info.handlers].sort(),
    heartbeatAgeMs: w.heartbeatAgeMs ?? null,
    host: w.info.host,
    pid: w.info.pid,
    version: w.info.version,
    incarnation: w.info.incarnation,
    startedAt: w.info.startedAt,
  }));
}
