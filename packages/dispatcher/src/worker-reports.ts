/**
 * The execution statistics every live worker publishes (worker
 * stats-publisher.ts), as this dispatcher last read them. Reading costs one
 * MGET of every live worker's key, so it runs only on demand: once a second
 * while `stats()` was asked within the last {@link WANTED_FOR_MS}. The first
 * `stats()` after a quiet spell shows what was read before (or nothing) and
 * starts the reads.
 */
import {
  type Clock,
  errorMessage,
  parseWorkerReport,
  type Timer,
  type WorkerReport,
} from '@ringcast/protocol';
import type { DispatcherTransport } from './transport.js';

export const REPORT_INTERVAL_MS = 1_000;
const WANTED_FOR_MS = 10_000;

export interface WorkerReportsHost {
  readonly clock: Clock;
  readonly transport: Pick<DispatcherTransport, 'readWorkerStats'>;
  /** Ids of the live workers. */
  workerIds(): string[];
  warn(line: string): void;
}

export class WorkerReports {
  readonly #host: WorkerReportsHost;
  #reports: Record<string, WorkerReport> = {};
  #askedAt = Number.NEGATIVE_INFINITY;
  #timer: Timer | undefined;
  #reading = false;

  constructor(host: WorkerReportsHost) {
    this.#host = host;
  }

  /** The reports last read, by worker id; asks for fresh ones. */
  current(): Record<string, WorkerReport> {
    const now = this.#host.clock.now();
    const quiet = now - this.#askedAt >= WANTED_FOR_MS;
    this.#askedAt = now;
    if (quiet && this.#timer !== undefined) void this.refresh();
    return { ...this.#reports };
  }

  start(): void {
    this.#timer ??= this.#host.clock.setInterval(() => {
      if (this.#host.clock.now() - this.#askedAt < WANTED_FOR_MS) void this.refresh();
    }, REPORT_INTERVAL_MS);
  }

  stop(): void {
    this.#host.clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  /** Reads every live worker's report now. */
  async refresh(): Promise<void> {
    if (this.#reading) return;
    this.#reading = true;
    const ids = this.#host.workerIds();
    try {
      const values = await this.#host.transport.readWorkerStats(ids);
      const reports: Record<string, WorkerReport> = {};
      ids.forEach((id, i) => {
        const report = parseWorkerReport(values[i]);
        if (report !== undefined) reports[id] = report;
      });
      this.#reports = reports;
    } catch (error) {
      this.#host.warn(`reading the workers' execution stats failed: ${errorMessage(error)}`);
    } finally {
      this.#reading = false;
    }
  }
}
