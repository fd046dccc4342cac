/**
 * Publishes this dispatcher's per-handler figures to Redis, so that the
 * `ringcast` CLI and the dashboard show end-to-end latency beside the
 * workers' execution times: a JSON `DispatcherReport` (protocol
 * stats-report.ts) under `dispatcherStatsKey(id)`, with a TTL, listed in
 * `dispatcherStatsIndexKey`. Settling a task only records into the book, as
 * it always did; protocol's `ReportPublisher` reads the book once a second
 * and writes only if calls settled since its last write. An idle dispatcher
 * writes nothing, and its report expires `statsTtlMs` after its last write;
 * `stop()` deletes it.
 */
import {
  type Clock,
  type DispatcherReport,
  errorMessage,
  type HandlerStatsBook,
  ReportPublisher,
  type Timer,
} from '@ringcast/protocol';
import { nanoid } from 'nanoid';
import type { DispatcherTransport } from './transport.js';

export interface StatsPublisherHost {
  readonly clock: Clock;
  readonly transport: Pick<DispatcherTransport, 'publishStats' | 'removeStats'>;
  /** Per handler, the calls settled and their end-to-end latency (settlement.ts records them). */
  readonly handlers: HandlerStatsBook;
  readonly ttlMs: number;
  warn(line: string): void;
}

export class StatsPublisher {
  /** This process: a dispatcher restarted under the same id starts its counts over. */
  readonly incarnation = nanoid(12);
  readonly #host: StatsPublisherHost;
  readonly #publisher: ReportPublisher;
  #started = false;

  constructor(host: StatsPublisherHost) {
    this.#host = host;
    this.#publisher = new ReportPublisher({
      clock: host.clock,
      changes: () => host.handlers.outcomes(),
      report: (now) => this.report(now),
      write: (json) => host.transport.publishStats(json, host.ttlMs),
      refreshMs: undefined,
      warn: (line) => host.warn(line),
    });
  }

  start(): void {
    this.#started = true;
    this.#publisher.start();
  }

  /**
   * Stops writing and deletes the report: a closed dispatcher's figures leave
   * with it. Waits at most `withinMs` (Redis may be away): past it, the report
   * expires with its TTL.
   */
  async stop(withinMs: number): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    const { clock, transport } = this.#host;
    const removed = (async () => {
      await this.#publisher.stop();
      await transport.removeStats();
    })().catch((error: unknown) => {
      this.#host.warn(`deleting the stats report failed: ${errorMessage(error)}`);
    });
    let timer: Timer | undefined;
    await Promise.race([
      removed,
      new Promise<void>((resolve) => {
        timer = clock.setTimeout(resolve, withinMs);
      }),
    ]);
    clock.clearTimer(timer);
  }

  report(now: number): DispatcherReport {
    const { handlers } = this.#host;
    return {
      incarnation: this.incarnation,
      at: now,
      handlers: handlers.summary(now),
      histograms: handlers.histograms(),
    };
  }
}
