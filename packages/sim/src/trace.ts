/**
 * The last events of a run, kept in a ring so a long run costs no more memory
 * than a short one, printed when a run breaks an invariant so a reader sees
 * what led up to it.
 */
export class Trace {
  readonly #lines: string[];
  #next = 0;
  #count = 0;

  constructor(readonly capacity = 200) {
    this.#lines = new Array<string>(capacity);
  }

  /** Records an event at simulated time `at` (epoch ms; shown relative to `origin`). */
  add(at: number, origin: number, what: string): void {
    this.#lines[this.#next] = `${String(at - origin).padStart(8)} ms  ${what}`;
    this.#next = (this.#next + 1) % this.capacity;
    this.#count++;
  }

  /** Events recorded so far, including those the ring no longer holds. */
  get count(): number {
    return this.#count;
  }

  /** The events the ring holds, oldest first. */
  lines(): string[] {
    if (this.#count <= this.capacity) return this.#lines.slice(0, this.#count);
    return [...this.#lines.slice(this.#next), ...this.#lines.slice(0, this.#next)];
  }
}
