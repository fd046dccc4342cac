/** The last reply of an attempt that finished, kept to answer a re-sent attempt without running it. */
export interface FinishedAttempt {
  /** Dispatcher the reply went to. */
  replyTo: string;
  /** The reply message, encoded once. */
  encoded: string;
  /** When it finished, epoch milliseconds. */
  at: number;
}

/**
 * Finished attempts by token, bounded by count and by age. A Map keeps insertion
 * order, so the oldest entry is always first and eviction is O(1).
 */
export class FinishedAttempts {
  readonly #entries = new Map<string, FinishedAttempt>();
  readonly #maxEntries: number;
  readonly #maxAgeMs: number;

  constructor(maxEntries: number, maxAgeMs: number) {
    this.#maxEntries = maxEntries;
    this.#maxAgeMs = maxAgeMs;
  }

  get size(): number {
    return this.#entries.size;
  }

  add(token: string, replyTo: string, encoded: string, now = Date.now()): void {
    this.#entries.delete(token);
    this.#entries.set(token, { replyTo, encoded, at: now });
    this.#evict(now);
  }

  get(token: string, now = Date.now()): FinishedAttempt | undefined {
    const entry = this.#entries.get(token);
    if (entry && now - entry.at > this.#maxAgeMs) {
      this.#evict(now);
      return undefined;
    }
    return entry;
  }

  #evict(now: number): void {
    for (const [token, entry] of this.#entries) {
      if (this.#entries.size > this.#maxEntries || now - entry.at > this.#maxAgeMs) {
        this.#entries.delete(token);
      } else {
        break;
      }
    }
  }
}
