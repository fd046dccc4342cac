/** The dispatcher's log lines: prefixed with its id; warnings rate-limited per kind. */
import { type Clock, RateLimitedLog } from '@ringcast/protocol';
import type { Logger } from './options.js';

const LOG_EVERY_MS = 10_000;

export class DispatcherLog {
  readonly #logger: Logger;
  readonly #prefix: string;
  readonly #warnings: RateLimitedLog;

  constructor(logger: Logger, id: string, clock: Clock) {
    this.#logger = logger;
    this.#prefix = `[ringcast dispatcher ${id}] `;
    this.#warnings = new RateLimitedLog(
      (line) => logger.warn(line),
      LOG_EVERY_MS,
      () => clock.now(),
    );
  }

  info(message: string): void {
    this.#logger.info(this.#prefix + message);
  }

  /** A warning; at most one per `kind` (a constant naming the problem) per {@link LOG_EVERY_MS}. */
  warn(kind: string, message: string): void {
    this.#warnings.log(kind, this.#prefix + message);
  }
}
