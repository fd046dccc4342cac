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
 * Finished attempts by token, bounded by count and by age. Tokens also sit in a
 * ring in finishing order, so the oldest is found in O(1): walking the Map from
 * its start would step over every deleted entry V8 has not compacted yet.
 */
export class FinishedAttempts {
  readonly #entries = new Map<string, FinishedAttempt>();
  readonly #order: Array<string | undefined>;
  #head = 0;
  #count = 0;
  readonly #maxAgeMs: number;

  constructor(maxEntries: number, maxAgeMs: number) {
    this.#order = new Array<string | undefined>(maxEntries).fill(undefined);
    this.#maxAgeMs = maxAgeMs;
  }

  get size(): number {
    return this.#entries.size;
  }

  add(token: string, replyTo: string, encoded: string, now = Date.now()): void {
    if (this.#entries.has(token)) {
      this.#entries.set(token, { replyTo, encoded, at: now });
      return;
    }
    if (this.#count === this.#order.length) this.#dropOldest();
    this.#order[(this.#head + this.#count) % this.#order.length] = token;
    this.#count++;
    this.#entries.set(token, { replyTo, encoded, at: now });
    this.#evictExpired(now);
  }

  get(token: string, now = Date.now()): FinishedAttempt | undefined {
    const entry = this.#entries.get(token);
    if (entry && now - entry.at > this.#maxAgeMs) {
      this.#evictExpired(now);
      return undefined;
    }
    return entry;
  }

  #evictExpired(now: number): void {
    while (this.#count > 0) {
      const oldest = this.#entries.get(this.#order[this.#head]!);
      if (oldest && now - oldest.at <= this.#maxAgeMs) return;
      this.#dropOldest();
    }
  }

  #dropOldest(): void {
    const token = this.#order[this.#head]!;
    this.#order[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#order.length;
    this.#count--;
    this.#entries.delete(token);
  }
}
