/**
 * The last reply of each finished attempt, by token, kept to answer a re-sent
 * attempt without running it again.
 *
 * Two generations of Maps: entries go into the current one, lookups try both,
 * and when the current one is half the size limit or half the age limit old it
 * becomes the previous one and the old previous one is dropped whole. So every
 * operation is O(1) with no per-entry timestamp or bookkeeping: an entry is kept
 * for at least `maxEntries / 2` later entries and `maxAgeMs / 2`, and for at most
 * `maxEntries` entries and `maxAgeMs`.
 */
export class FinishedAttempts {
  #current = new Map<string, string>();
  #previous = new Map<string, string>();
  /** When the current generation began, epoch ms. */
  #since: number;
  readonly #generationSize: number;
  readonly #generationMs: number;

  constructor(maxEntries: number, maxAgeMs: number, now = Date.now()) {
    this.#generationSize = Math.max(1, Math.floor(maxEntries / 2));
    this.#generationMs = maxAgeMs / 2;
    this.#since = now;
  }

  get size(): number {
    return this.#current.size + this.#previous.size;
  }

  /** Records the encoded reply of a finished attempt. */
  add(token: string, encoded: string, now = Date.now()): void {
    this.#age(now);
    if (this.#current.size >= this.#generationSize) this.#rotate(now);
    this.#current.set(token, encoded);
  }

  /** The encoded reply of a finished attempt, if it is still kept. */
  get(token: string, now = Date.now()): string | undefined {
    this.#age(now);
    return this.#current.get(token) ?? this.#previous.get(token);
  }

  #age(now: number): void {
    const elapsed = now - this.#since;
    if (elapsed < this.#generationMs) return;
    if (elapsed >= 2 * this.#generationMs) {
      // Both generations are past the age limit.
      this.#current = new Map();
      this.#previous = new Map();
      this.#since = now;
      return;
    }
    this.#previous = this.#current;
    this.#current = new Map();
    // On the generation's own boundary, not when we happened to look: no entry outlives maxAgeMs.
    this.#since += this.#generationMs;
  }

  #rotate(now: number): void {
    this.#previous = this.#current;
    this.#current = new Map();
    this.#since = now;
  }
}
