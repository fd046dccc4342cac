const MIN_CAPACITY = 64;

/**
 * A hash table for per-task records that come and go all the time: the
 * dispatcher's tasks in flight, a worker's live attempts. Open addressing with
 * linear probing and backward-shift deletion, in an array that grows and shrinks
 * with its entries; the caller supplies each key's 32-bit hash (a counter may be
 * its own hash: the table spreads it).
 *
 * Why not a `Map`: under an add and a delete per task, a `Map` rehashes into a
 * new table every few thousand operations, and each obsolete table keeps a
 * pointer to its successor and its old entries. Once one of them reached the
 * old generation (any full collection while tasks were in flight), every later
 * table and every record it had held survived the young-generation collections
 * through that chain and was promoted: in the benchmark, 2 MB per scavenge, a
 * full collection every few hundred milliseconds, and a third of the
 * dispatcher's CPU. Arrays that are only ever replaced whole leave no chain.
 */
export class TaskTable<T, K extends string | number> {
  readonly #keyOf: (entry: T) => K;
  #slots: Array<T | undefined> = new Array<T | undefined>(MIN_CAPACITY).fill(undefined);
  /** The hash of each slot's entry, so probes and moves never recompute one. */
  #hashes = new Uint32Array(MIN_CAPACITY);
  #mask = MIN_CAPACITY - 1;
  #size = 0;

  /** `keyOf` gives an entry's key: entries with equal keys (`===`) are the same entry. */
  constructor(keyOf: (entry: T) => K) {
    this.#keyOf = keyOf;
  }

  get size(): number {
    return this.#size;
  }

  /** The entry with `key`, whose hash is `hash`. */
  get(key: K, hash: number): T | undefined {
    const slots = this.#slots;
    const hashes = this.#hashes;
    const mask = this.#mask;
    const h = mix(hash);
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const entry = slots[i];
      if (entry === undefined) return undefined;
      if (hashes[i] === h && this.#keyOf(entry) === key) return entry;
    }
  }

  /** Adds an entry whose key (with hash `hash`) is not in the table. */
  add(entry: T, hash: number): void {
    if ((this.#size + 1) * 2 > this.#slots.length) this.#resize(this.#slots.length * 2);
    place(this.#slots, this.#hashes, this.#mask, entry, mix(hash));
    this.#size++;
  }

  /** Removes `entry` (whose key has hash `hash`) if it is in the table; false if it was not. */
  delete(entry: T, hash: number): boolean {
    const slots = this.#slots;
    const hashes = this.#hashes;
    const mask = this.#mask;
    let gap = mix(hash) & mask;
    for (;;) {
      const found = slots[gap];
      if (found === undefined) return false;
      if (found === entry) break;
      gap = (gap + 1) & mask;
    }
    // Backward shift: pull later entries of the probe run into the gap, so that
    // lookups never need tombstones.
    for (let j = (gap + 1) & mask; ; j = (j + 1) & mask) {
      const next = slots[j];
      if (next === undefined) break;
      const home = hashes[j]! & mask;
      // `next` may move back into the gap unless its home lies after the gap (cyclically).
      const stays = gap <= j ? gap < home && home <= j : gap < home || home <= j;
      if (!stays) {
        slots[gap] = next;
        hashes[gap] = hashes[j]!;
        gap = j;
      }
    }
    slots[gap] = undefined;
    this.#size--;
    if (this.#size * 8 < slots.length && slots.length > MIN_CAPACITY) {
      this.#resize(slots.length / 2);
    }
    return true;
  }

  /**
   * The most consecutive occupied slots: what the slowest miss or delete walks.
   * It reads the whole table; for tests and diagnostics, not the hot path.
   */
  longestRun(): number {
    const slots = this.#slots;
    let longest = 0;
    let run = 0;
    // Twice round, so a run that wraps past the end is counted whole.
    for (let i = 0; i < 2 * slots.length && longest < slots.length; i++) {
      run = slots[i % slots.length] === undefined ? 0 : run + 1;
      longest = Math.max(longest, run);
    }
    return longest;
  }

  /** The entries, in no particular order: a copy, safe to use while the table changes. */
  values(): T[] {
    const out: T[] = [];
    for (const entry of this.#slots) if (entry !== undefined) out.push(entry);
    return out;
  }

  #resize(capacity: number): void {
    const oldSlots = this.#slots;
    const oldHashes = this.#hashes;
    const slots = new Array<T | undefined>(capacity).fill(undefined);
    const hashes = new Uint32Array(capacity);
    const mask = capacity - 1;
    for (let i = 0; i < oldSlots.length; i++) {
      const entry = oldSlots[i];
      if (entry !== undefined) place(slots, hashes, mask, entry, oldHashes[i]!);
    }
    this.#slots = slots;
    this.#hashes = hashes;
    this.#mask = mask;
  }
}

/**
 * Spreads a hash over the table: consecutive numbers (a counter used as its own
 * hash) would otherwise fill consecutive slots, one probe run as long as the
 * entries, which every delete walks to its end. Multiplying by an odd constant
 * permutes the low bits and scatters any run of them.
 */
function mix(hash: number): number {
  return Math.imul(hash, 0x9e3779b1) >>> 0;
}

function place<T>(
  slots: Array<T | undefined>,
  hashes: Uint32Array,
  mask: number,
  entry: T,
  hash: number,
): void {
  let i = hash & mask;
  while (slots[i] !== undefined) i = (i + 1) & mask;
  slots[i] = entry;
  hashes[i] = hash;
}
