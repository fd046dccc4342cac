/**
 * The fingerprints (MACs) of the authenticated frames a node accepted, so that
 * a captured frame published again is recognised as a replay. Each is kept
 * until its timestamp has left the skew window: a replay after that is
 * refused as stale anyway, so the memory covers exactly the window in which a
 * replay could pass every other check.
 *
 * Bounded: at most {@link MAX_REMEMBERED_FRAMES}; past that the oldest are
 * forgotten first. A replay of a forgotten frame still runs nothing twice: the
 * worker answers an attempt it finished from its record, dispatchers accept a
 * reply only for an attempt's current token, and operator requests must be
 * newer than the last one applied.
 */

/**
 * Frames remembered at most (about 9 MB): every frame of the window up to about
 * 1,600 frames a second with the default window of ±30 s, and at least the last
 * 100,000 frames beyond that.
 */
export const MAX_REMEMBERED_FRAMES = 100_000;
/** How often expired fingerprints are swept out, at most. */
const SWEEP_INTERVAL_MS = 1_000;

export class ReplayMemory {
  /** Fingerprint → until when it matters (epoch ms), in the order frames were accepted. */
  readonly #until = new Map<string, number>();
  readonly #max: number;
  #nextSweep = 0;

  constructor(max = MAX_REMEMBERED_FRAMES) {
    this.#max = max;
  }

  /** How many fingerprints are remembered now. */
  get size(): number {
    return this.#until.size;
  }

  /** Whether `fingerprint` was seen before (a replay); if not, remembers it until `until`. */
  seen(fingerprint: string, until: number, now: number): boolean {
    if (this.#until.has(fingerprint)) return true;
    if (now >= this.#nextSweep || this.#until.size >= this.#max) this.#sweep(now);
    this.#until.set(fingerprint, until);
    return false;
  }

  /** Forgets everything. */
  clear(): void {
    this.#until.clear();
  }

  /**
   * Drops expired fingerprints from the oldest on, and the oldest past the
   * bound. Frames arrive about in timestamp order, so it stops at the first
   * one still needed; one from a fast clock may hold later ones up for a window.
   */
  #sweep(now: number): void {
    this.#nextSweep = now + SWEEP_INTERVAL_MS;
    for (const [fingerprint, until] of this.#until) {
      if (until > now && this.#until.size < this.#max) break;
      this.#until.delete(fingerprint);
    }
  }
}
