/**
 * The last reply of each finished attempt, by token, kept to answer a re-sent
 * attempt without running it again.
 *
 * Replies live off the JS heap, in memory of fixed size allocated once:
 * - a ring buffer of records (the token's UTF-8 bytes, then the reply's): bounded
 *   by bytes (results may be large), and nothing for the garbage collector to
 *   copy. Kept as strings, replies outlived a few young-generation collections
 *   each and were copied and promoted on the way: a third of the worker's CPU
 *   per task in the bench;
 * - an index, a direct-mapped table from a hash of the token to where its record
 *   is, its lengths, when it was added, and the full hash: typed-array reads per
 *   incoming task, which is nearly always a miss (a first attempt).
 *
 * Records are written in batches: up to {@link BATCH} replies wait in a list,
 * where lookups find them too, and then go into the ring with one UTF-8 write.
 * A write per reply cost more than encoding it (the call into the runtime, not
 * the copy).
 *
 * New records overwrite the oldest, and a token whose slot another token takes
 * loses its entry. A lookup accepts the record its slot points to only if no
 * write has reached it since, it is young enough, and it carries the same token:
 * an overwritten record or a hash collision is a miss, never a wrong reply. A
 * miss only means the re-sent attempt runs again, which at-least-once execution
 * allows.
 */
export class FinishedAttempts {
  readonly #ring: Buffer;
  /** Where the next batch goes, as a position counted from the first byte ever written. */
  #head = 0;
  /**
   * Per slot: 0 for none; `position + 1` of its record in the ring (positions as
   * for `#head`); or `-(k + 1)` while it is entry k of the batch not yet written.
   */
  readonly #where: Float64Array;
  /**
   * The full hash of the slot's token. Once the ring has wrapped nearly every
   * slot points somewhere: comparing hashes turns away almost every first attempt
   * without reading the ring.
   */
  readonly #tags: Uint32Array;
  /** When the slot's reply was added (epoch ms). */
  readonly #added: Float64Array;
  /** UTF-8 bytes of the slot's token, and of its whole record. */
  readonly #tokenBytes: Uint32Array;
  readonly #recordBytes: Uint32Array;
  readonly #mask: number;
  readonly #maxAgeMs: number;
  /** Replies not yet in the ring, as token, reply, token, reply, … */
  readonly #batch: string[] = [];
  readonly #batchSlots: number[] = [];
  #batchChars = 0;

  /**
   * @param maxBytes size of the ring (up to 1 GiB); a reply larger than a quarter of it is not kept.
   * @param maxAgeMs replies older than this are never returned.
   */
  constructor(maxBytes: number, maxAgeMs: number) {
    if (!Number.isInteger(maxBytes) || maxBytes < 1024 || maxBytes > 2 ** 30) {
      throw new RangeError(`maxBytes must be an integer from 1024 to 2^30, got ${maxBytes}`);
    }
    this.#ring = Buffer.allocUnsafeSlow(maxBytes);
    // About one slot per 64 bytes of ring, the size of a small reply: few collide.
    const slots = 2 ** Math.ceil(Math.log2(maxBytes / 64));
    this.#where = new Float64Array(slots);
    this.#tags = new Uint32Array(slots);
    this.#added = new Float64Array(slots);
    this.#tokenBytes = new Uint32Array(slots);
    this.#recordBytes = new Uint32Array(slots);
    this.#mask = slots - 1;
    this.#maxAgeMs = maxAgeMs;
  }

  /** Bytes the ring holds, whatever is in it. */
  get capacity(): number {
    return this.#ring.length;
  }

  /** Records the encoded reply of a finished attempt. */
  add(token: string, encoded: string, now = Date.now()): void {
    const tag = hash(token);
    const slot = tag & this.#mask;
    const chars = token.length + encoded.length;
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (3 * chars > this.#ring.length / 4) {
      // Too large to keep: whatever an earlier add left here must not answer for this token.
      this.#where[slot] = 0;
      return;
    }
    const k = this.#batchSlots.length;
    this.#batch.push(token, encoded);
    this.#batchSlots.push(slot);
    this.#batchChars += chars;
    this.#where[slot] = -(k + 1);
    this.#tags[slot] = tag;
    this.#added[slot] = now;
    if (k + 1 >= BATCH || 3 * this.#batchChars > this.#ring.length / 8) this.flush();
  }

  /** The encoded reply of a finished attempt, if it is still kept. */
  get(token: string, now = Date.now()): string | undefined {
    const tag = hash(token);
    const slot = tag & this.#mask;
    const where = this.#where[slot]!;
    if (where === 0 || this.#tags[slot] !== tag) return undefined;
    if (!(now - this.#added[slot]! <= this.#maxAgeMs)) return undefined;
    if (where < 0) {
      const k = -where - 1;
      return this.#batch[2 * k] === token ? this.#batch[2 * k + 1] : undefined;
    }
    const position = where - 1;
    const size = this.#ring.length;
    // Writes since have reached the same offsets in a later lap.
    if (this.#head > position + size) return undefined;
    const at = position % size;
    const tokenEnd = at + this.#tokenBytes[slot]!;
    if (this.#ring.toString('utf8', at, tokenEnd) !== token) return undefined;
    return this.#ring.toString('utf8', tokenEnd, at + this.#recordBytes[slot]!);
  }

  /** Writes the waiting replies into the ring. */
  flush(): void {
    const batch = this.#batch;
    const slots = this.#batchSlots;
    if (slots.length === 0) return;
    const text = batch.join('');
    const ring = this.#ring;
    const size = ring.length;
    // Room for the worst case, so a batch never wraps: skip to the next lap instead.
    let at = this.#head % size;
    if (at + 3 * text.length > size) {
      this.#head += size - at;
      at = 0;
    }
    const start = this.#head;
    const written = ring.write(text, at, 'utf8');
    // All ASCII (the usual case) when bytes and UTF-16 units agree: lengths need no counting.
    const ascii = written === text.length;
    let position = start;
    for (let k = 0; k < slots.length; k++) {
      const token = batch[2 * k]!;
      const reply = batch[2 * k + 1]!;
      const tokenBytes = ascii ? token.length : Buffer.byteLength(token, 'utf8');
      const recordBytes = tokenBytes + (ascii ? reply.length : Buffer.byteLength(reply, 'utf8'));
      const slot = slots[k]!;
      // A later add of the batch may have taken the slot; then it is that one's.
      if (this.#where[slot] === -(k + 1)) {
        this.#where[slot] = position + 1;
        this.#tokenBytes[slot] = tokenBytes;
        this.#recordBytes[slot] = recordBytes;
      }
      position += recordBytes;
    }
    this.#head = start + written;
    batch.length = 0;
    slots.length = 0;
    this.#batchChars = 0;
  }
}

/** Replies that wait for one write into the ring. */
const BATCH = 256;

/** FNV-1a over UTF-16 units. */
export function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
