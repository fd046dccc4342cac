import type { Logger } from './options.js';

/**
 * At most one line per interval for a recurring problem, reporting how many
 * similar lines it held back, so a flood of bad input cannot flood the log.
 */
export class RateLimitedLog {
  readonly #logger: Logger;
  readonly #level: 'warn' | 'error';
  readonly #intervalMs: number;
  #last = Number.NEGATIVE_INFINITY;
  #suppressed = 0;

  constructor(logger: Logger, level: 'warn' | 'error', intervalMs: number) {
    this.#logger = logger;
    this.#level = level;
    this.#intervalMs = intervalMs;
  }

  log(message: string): void {
    const now = Date.now();
    if (now - this.#last < this.#intervalMs) {
      this.#suppressed++;
      return;
    }
    this.#last = now;
    const suffix = this.#suppressed > 0 ? ` (${this.#suppressed} similar suppressed since)` : '';
    this.#suppressed = 0;
    try {
      this.#logger[this.#level](message + suffix);
    } catch {
      // A broken logger must not take the worker down.
    }
  }
}
