import type { LogFields } from './logger.js';
import { redactText } from './redact.js';

/** Kinds remembered at once; they are a fixed set in the code, so this is only a backstop. */
const MAX_KINDS = 256;

interface Budget {
  /** When the last line of this kind went out. */
  last: number;
  /** Lines of this kind held back since. */
  suppressed: number;
}

/**
 * Writes at most one line per kind of problem per interval, and says with the
 * next line of that kind how many it held back, so a flood of bad input cannot
 * flood the log. Each kind has its own budget: a flood of one kind (invalid
 * frames, say) does not mute a warning of another (a failing heartbeat). Lines
 * are redacted, and a logger that throws is ignored.
 */
export class RateLimitedLog {
  readonly #write: (message: string, fields?: LogFields) => void;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #kinds = new Map<string, Budget>();

  /** `now` is the clock, injectable for tests. */
  constructor(
    write: (message: string, fields?: LogFields) => void,
    intervalMs: number,
    now: () => number = Date.now,
  ) {
    this.#write = write;
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /**
   * Writes `message` unless a line of the same `kind` (a constant naming the
   * problem, not the message) went out less than the interval ago. `fields`
   * go to the logger with the line (see logger.ts); how many lines were held
   * back is added to them as `suppressed`. Returns whether it was written.
   */
  log(kind: string, message: string, fields?: LogFields): boolean {
    const now = this.#now();
    let budget = this.#kinds.get(kind);
    if (budget && now - budget.last < this.#intervalMs) {
      budget.suppressed++;
      return false;
    }
    if (!budget) {
      if (this.#kinds.size >= MAX_KINDS) {
        this.#kinds.delete(this.#kinds.keys().next().value as string);
      }
      budget = { last: now, suppressed: 0 };
      this.#kinds.set(kind, budget);
    }
    const { suppressed } = budget;
    const suffix = suppressed > 0 ? ` (${suppressed} similar suppressed since)` : '';
    budget.last = now;
    budget.suppressed = 0;
    try {
      this.#write(
        redactText(message + suffix),
        suppressed > 0 ? { ...fields, suppressed } : fields,
      );
    } catch {
      // A broken logger must not take the process down.
    }
    return true;
  }
}
