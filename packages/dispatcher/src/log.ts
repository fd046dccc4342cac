/**
 * The dispatcher's log lines: prefixed with its id, warnings rate-limited per
 * kind. A structured logger (pino) gets the line's fields, the dispatcher's
 * id among them as `dispatcher` (see protocol's logger.ts).
 */
import {
  type Clock,
  type FieldLogger,
  type LogFields,
  RateLimitedLog,
  withFields,
} from '@ringcast/protocol';
import type { Logger } from './options.js';

const LOG_EVERY_MS = 10_000;

export class DispatcherLog {
  readonly #logger: FieldLogger;
  readonly #prefix: string;
  readonly #warnings: RateLimitedLog;

  constructor(logger: Logger, id: string, clock: Clock) {
    const log = withFields(logger, { dispatcher: id });
    this.#logger = log;
    this.#prefix = `[ringcast dispatcher ${id}] `;
    this.#warnings = new RateLimitedLog(
      (line, fields) => log.warn(line, fields),
      LOG_EVERY_MS,
      () => clock.now(),
    );
  }

  info(message: string, fields?: LogFields): void {
    this.#logger.info(this.#prefix + message, fields);
  }

  /** A warning; at most one per `kind` (a constant naming the problem) per {@link LOG_EVERY_MS}. */
  warn(kind: string, message: string, fields?: LogFields): void {
    this.#warnings.log(kind, this.#prefix + message, fields);
  }
}
