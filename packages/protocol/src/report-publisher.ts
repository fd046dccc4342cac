/**
 * Writes a process's stats report (stats-report.ts) to Redis about once a
 * second, for workers and dispatchers alike. A write is due only when the
 * host's `changes()` moved since the last one (something was recorded), or,
 * for a host that keeps its key alive while it lives, when the last write is
 * `refreshMs` old. The report is built and written from a timer, never from
 * the hot path, never awaited by it, and one write at a time: a tick during a
 * write is skipped. A write that fails is tried again at the next tick.
 */
import type { Clock, Timer } from './clock.js';
import { errorMessage } from './redact.js';
import type { StatsReport } from './stats-report.js';

/** How often a publisher looks whether a write is due. */
export const REPORT_INTERVAL_MS = 1_000;

export interface ReportPublisherHost {
  readonly clock: Clock;
  /** A count that moves whenever the report has something new (outcomes recorded since start). */
  changes(): number;
  /** The report as of `now`. */
  report(now: number): StatsReport;
  /** Writes the report's JSON to the process's key, with its TTL. */
  write(json: string): Promise<void>;
  /**
   * An unchanged report is written again once the last write is this old, so
   * that its key outlives no live process and no live process's key expires
   * (the worker: a third of the TTL). Undefined: never; the key expires a TTL
   * after the last change (the dispatcher: an idle one writes nothing).
   */
  readonly refreshMs: number | undefined;
  warn(line: string): void;
}

export class ReportPublisher {
  readonly #host: ReportPublisherHost;
  #timer: Timer | undefined;
  #writing: Promise<void> | undefined;
  /** `changes()` at the last write; nothing is recorded before start. */
  #lastChanges = 0;
  /** A refreshing host writes at once; the others at their first change. */
  #lastAt = Number.NEGATIVE_INFINITY;

  constructor(host: ReportPublisherHost) {
    this.#host = host;
  }

  start(): void {
    this.#timer ??= this.#host.clock.setInterval(this.#tick, REPORT_INTERVAL_MS);
    this.#tick();
  }

  /** Stops the timer; resolves once a write in flight, if any, is answered. */
  stop(): Promise<void> {
    this.#host.clock.clearTimer(this.#timer);
    this.#timer = undefined;
    return this.#writing ?? Promise.resolve();
  }

  #tick = (): void => {
    if (this.#writing !== undefined) return;
    const host = this.#host;
    const now = host.clock.now();
    const changes = host.changes();
    const refreshDue = host.refreshMs !== undefined && now - this.#lastAt >= host.refreshMs;
    if (changes === this.#lastChanges && !refreshDue) return;
    const last = { changes: this.#lastChanges, at: this.#lastAt };
    this.#lastChanges = changes;
    this.#lastAt = now;
    this.#writing = host
      .write(JSON.stringify(host.report(now)))
      .catch((error: unknown) => {
        this.#lastChanges = last.changes;
        this.#lastAt = last.at;
        host.warn(`publishing stats failed: ${errorMessage(error)}`);
      })
      .finally(() => {
        this.#writing = undefined;
      });
  };
}
