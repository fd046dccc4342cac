/**
 * The worker's execution-time statistics: per handler, runs that succeeded,
 * failed (by code) or were redeliveries, throughput, and the handler's
 * execution time. The executor stamps an attempt when its handler starts and
 * records it when it ends; the metrics, when on, observe the same figure.
 */
import { type Clock, ErrorCode, HandlerStatsBook, isRingcastError } from '@ringcast/protocol';
import type { Attempt } from './attempt.js';

/** Told of every handler run that ended (metrics.ts). */
export interface ExecutionObserver {
  observe(handler: string, seconds: number): void;
}

const CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/**
 * The outcome code of a failed run: a ringcast error's own (`TIMEOUT`,
 * `CANCELLED`, …), else `HANDLER_ERROR`. A handler's own codes are not used:
 * they would make the set of outcomes (and of metric labels) unbounded.
 */
export function failureCode(cause: unknown): string {
  try {
    if (isRingcastError(cause) && CODES.has(cause.code)) return cause.code;
  } catch {
    // A revoked Proxy, a throwing getter: what a handler throws may throw when looked at.
  }
  return ErrorCode.HANDLER_ERROR;
}

export class ExecutionStats {
  readonly book = new HandlerStatsBook();
  readonly #clock: Clock;
  #observer: ExecutionObserver | undefined;
  /** Runs recorded since start: the publisher writes only when this moved. */
  runs = 0;

  constructor(handlers: Iterable<string>, clock: Clock) {
    this.#clock = clock;
    // Every registered handler shows, with zeros, before its first run.
    for (const handler of handlers) this.book.of(handler);
  }

  observe(observer: ExecutionObserver): void {
    this.#observer = observer;
  }

  started(attempt: Attempt): void {
    attempt.startedAt = performance.now();
  }

  /** The attempt's handler run ended; `code` undefined for success. */
  ended(attempt: Attempt, code: string | undefined): void {
    const ms = performance.now() - attempt.startedAt;
    const { task } = attempt;
    this.book.of(task.handler).record(ms, code, task.attempt > 1, this.#clock.now());
    this.runs++;
    this.#observer?.observe(task.handler, ms / 1000);
  }
}
