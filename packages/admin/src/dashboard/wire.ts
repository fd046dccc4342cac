/**
 * The JSON the dashboard server sends: `/api/snapshot` and every `snapshot`
 * event of `/events` carry a {@link DashboardSnapshot}, `/api/history` a
 * {@link DashboardHistory}, every `sample` event one {@link HistorySample}.
 * Types only and no imports, so the page (a browser program of its own, see
 * tsconfig.page.json) reads the same definitions as the server. Durations are
 * in milliseconds, times in epoch milliseconds; a figure nobody reported is null.
 */

/**
 * - `live`: its heartbeat is current.
 * - `missing`: its heartbeat key still exists but is older than 1.5 heartbeat
 *   intervals: the process is stalled, cut off from Redis, or dead.
 * - `gone`: its heartbeat key expired or it left; shown for a minute, then dropped.
 */
export type WorkerState = 'live' | 'missing' | 'gone';

export interface DashboardWorker {
  id: string;
  state: WorkerState;
  /** When it was seen gone (null unless `gone`). */
  goneAt: number | null;
  weight: {
    /** The weight dispatchers give it (its registry entry's). */
    current: number;
    /** The operator's weight for it (`ringcast reweight`); null for none. */
    policy: number | null;
  };
  load: {
    concurrency: number;
    /** Handlers running, from its latest stats report; null before its first. */
    inflight: number | null;
    queued: number | null;
    /** Slots held by handlers past their task's deadline. */
    stuckSlots: number;
  };
  heartbeat: {
    /** Since its heartbeat key was last written; null when its TTL is unknown. */
    ageMs: number | null;
    /** How often it beats: advertised, or a third of its TTL for workers that do not say. */
    intervalMs: number | null;
  };
  share: {
    /** Tasks it ran in the last minute. */
    lastMinute: number;
    /** Its part of the fleet's tasks in the last minute, 0 to 1; null while the fleet ran none. */
    tasks: number | null;
    /** Its part of the fleet's weight, 0 to 1 (gone workers count for none). */
    weight: number | null;
  };
  /** Handler execution times, over its handlers (merged) and per handler that ran. */
  execution: {
    count: number;
    p50Ms: number;
    p99Ms: number;
    handlers: Array<{ name: string; count: number; p50Ms: number; p99Ms: number }>;
  };
  host: string;
  pid: number;
  version: string;
  startedAt: number;
}

/** One handler's figures over every live worker that reported it. */
export interface HandlerFigures {
  name: string;
  succeeded: number;
  /** Failures by error code. */
  failed: Record<string, number>;
  redelivered: number;
  lastSecond: number;
  lastMinute: number;
  /** Execution time percentiles from the workers' merged histograms. */
  execution: { count: number; p50Ms: number; p90Ms: number; p99Ms: number; maxMs: number };
  /** Live workers that reported it. */
  workers: number;
}

export interface RedisStatus {
  /** The Redis URL, credentials masked. */
  url: string;
  /** Whether the latest read succeeded. */
  up: boolean;
  /** Why the latest read failed (redacted); null while up. */
  error: string | null;
  /** When reads started failing; null while up. */
  downSince: number | null;
}

export interface DashboardSnapshot {
  namespace: string;
  redis: RedisStatus;
  /** When the figures were read from Redis; null before the first read succeeded. */
  readAt: number | null;
  workers: DashboardWorker[];
  /** Registry entries without a live heartbeat: dead workers no dispatcher pruned yet (gone ones among them). */
  staleEntries: number;
  /** Over every live worker, since each started: a worker that goes takes its counts along. */
  totals: {
    succeeded: number;
    failed: number;
    redelivered: number;
    lastSecond: number;
    lastMinute: number;
  };
  /** Failures by error code, summed like `totals`. */
  errors: Record<string, number>;
  handlers: HandlerFigures[];
  durable: {
    /** Whether durable tasks were seen (waiting, delayed or active) since the dashboard started. */
    inUse: boolean;
    waiting: number;
    delayed: number;
    active: number;
    owners: Array<{ id: string; live: boolean; active: number }>;
  };
}

/** The fleet over one interval, about a second, as the server sampled it. */
export interface HistorySample {
  at: number;
  /** Null when Redis could not be read. */
  tasksPerSecond: number | null;
  errorsPerSecond: number | null;
  /** Handler execution time over the interval's runs; null when none ran. */
  executionP50Ms: number | null;
  executionP99Ms: number | null;
}

export interface DashboardHistory {
  intervalMs: number;
  /** How far back it reaches at most. */
  spanMs: number;
  /** Oldest first. */
  samples: HistorySample[];
}
