/**
 * The worker as its users see it: the interface {@link createWorker} returns
 * (worker.ts holds the class behind it), and how its life ended.
 */
import type { AuthOptions, WorkerInfo } from '@ringcast/protocol';
import type { Metrics } from './metrics.js';
import type { WorkerStats } from './stats.js';

/** How a worker's life ended: what {@link Worker.closed} resolves with. */
export interface WorkerClosed {
  /**
   * `close`: the application called `close()` (the CLI does on SIGTERM);
   * `drain`: an operator's drain request (`ringcast drain <id>`) closed it,
   * exactly as `close()` would have; `start-failed`: `start()` rejected, and
   * the worker released everything it had taken.
   */
  reason: 'close' | 'drain' | 'start-failed';
  /** What the close threw, if it failed; for `start-failed`, why the start did. */
  error?: unknown;
}

/** A worker: subscribes to its channel, runs handlers, replies. Made by {@link createWorker}. */
export interface Worker extends AsyncDisposable {
  /** This worker's id. */
  readonly id: string;
  /** The namespace it serves. */
  readonly namespace: string;
  /**
   * Subscribes, waits for Redis to confirm the subscription, registers the worker
   * and announces it. Resolves once tasks can reach it. A worker starts once:
   * called again while it starts or runs, it is that start; after `close()`, it
   * rejects `CLOSED`.
   * Rejects `DUPLICATE_WORKER` if another live process already serves its id.
   */
  start(): Promise<void>;
  /**
   * Leaves the ring, nacks `DRAINING` anything new and everything queued, lets
   * running handlers finish within `drainTimeoutMs` and delivers their outcomes,
   * aborts the rest (reason `CLOSED`), then disconnects. Idempotent.
   */
  close(): Promise<void>;
  /**
   * Resolves once the worker has closed for good, whoever closed it: `close()`,
   * an operator's drain request, or a failed start. Never rejects; a close
   * that failed says so in `error`. The `ringcast-worker` CLI exits when it
   * resolves (0, or 1 if the close failed).
   */
  readonly closed: Promise<WorkerClosed>;
  /** A snapshot of the counters, the weight, and the per-handler execution statistics. */
  stats(): WorkerStats;
  /**
   * The worker's Prometheus metrics: its own prom-client registry, and a
   * handler that serves it. Throws `INVALID_OPTIONS` unless the worker was made
   * with `metrics: true`.
   */
  metrics(): Metrics;
  /** What the worker records about itself in the registry. */
  info(): WorkerInfo;
  /**
   * Replaces the frame authentication keyring of a running worker, for a key
   * rotation without downtime: give every process the new key beside the old
   * (they accept both), then make it `current` everywhere (they sign with it),
   * then drop the old one. Takes effect for the next frame. Throws
   * `INVALID_OPTIONS` for an invalid keyring, and when the worker was made
   * without `auth` (every process of a deployment must agree on whether frames
   * are signed: that takes a restart). The CLI calls it on SIGHUP with what
   * `--auth-keys-file` holds then.
   */
  setAuth(auth: AuthOptions): void;
}
