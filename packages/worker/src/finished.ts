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
 *   is, when it was added, the full hash and the lengths: one read per incoming
 *   task, which is nearly always a miss (a first attempt). A slot's fields sit
 *   side by side in one cache line: the table is megabytes, read at random, and
 *   a cache miss per field cost more than the rest of the lookup.
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
   * Four float64 fields per slot, {@link WHERE} to {@link LENGTHS}. Where: 0 for
   * none; `position + 1` of its record in the ring (positions as for `#head`);
   * or `-(k + 1)` while it is entry k of the batch not yet written. The full
   * hash of its token: once the ring has wrapped nearly every slot points
   * somewhere, and comparing hashes turns away almost every first attempt
   * without reading the ring.
   */
  readonly #index: Float64Array;
  readonly #mask: number;
  readonly #maxAgeMs: number;
  /** Replies not yet in the ring, as token, reply, token, reply, … */
  readonly #batch: string[] = [];
  /** Where each waiting reply's slot starts in the index. */
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
    this.#index = new Float64Array(slots * FIELDS);
    this.#mask = slots - 1;
    this.#maxAgeMs = maxAgeMs;
  }

  /** Bytes the ring holds, whatever is in it. */
  get capacity(): number {
    return this.#ring.length;
  }

  /** Records the encoded reply of a finished attempt; `tag` is `hash(token)`, if known. */
  add(token: string, encoded: string, now: number, tag = hash(token)): void {
    const at = (tag & this.#mask) * FIELDS;
    const chars = token.length + encoded.length;
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (3 * chars > this.#ring.length / 4 || 3 * token.length >= LENGTH_SPLIT) {
      // Too large to keep: whatever an earlier add left here must not answer for this token.
      this.#index[at + WHERE] = 0;
      return;
    }
    const k = this.#batchSlots.length;
    this.#batch.push(token, encoded);
    this.#batchSlots.push(at);
    this.#batchChars += chars;
    this.#index[at + WHERE] = -(k + 1);
    this.#index[at + ADDED] = now;
    this.#index[at + TAG] = tag;
    if (k + 1 >= BATCH || 3 * this.#batchChars > this.#ring.length / 8) this.flush();
  }

  /** The encoded reply of a finished attempt, if it is still kept; `tag` is `hash(token)`, if known. */
  get(token: string, now: number, tag = hash(token)): string | undefined {
    const index = this.#index;
    const at = (tag & this.#mask) * FIELDS;
    const where = index[at + WHERE]!;
    if (where === 0 || index[at + TAG] !== tag) return undefined;
    if (!(now - index[at + ADDED]! <= this.#maxAgeMs)) return undefined;
    if (where < 0) {
      const k = -where - 1;
      return this.#batch[2 * k] === token ? this.#batch[2 * k + 1] : undefined;
    }
    const position = where - 1;
    const size = this.#ring.length;
    // Writes since have reached the same offsets in a later lap.
    if (this.#head > position + size) return undefined;
    const offset = position % size;
    const lengths = index[at + LENGTHS]!;
    const tokenEnd = offset + (lengths % LENGTH_SPLIT);
    if (this.#ring.toString('utf8', offset, tokenEnd) !== token) return undefined;
    return this.#ring.toString('utf8', tokenEnd, offset + Math.floor(lengths / LENGTH_SPLIT));
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
    let offset = this.#head % size;
    if (offset + 3 * text.length > size) {
      this.#head += size - offset;
      offset = 0;
    }
    const start = this.#head;
    const written = ring.write(text, offset, 'utf8');
    // All ASCII (the usual case) when bytes and UTF-16 units agree: lengths need no counting.
    const ascii = written === text.length;
    const index = this.#index;
    let position = start;
    for (let k = 0; k < slots.length; k++) {
      const token = batch[2 * k]!;
      const reply = batch[2 * k + 1]!;
      const tokenBytes = ascii ? token.length : Buffer.byteLength(token, 'utf8');
      const recordBytes = tokenBytes + (ascii ? reply.length : Buffer.byteLength(reply, 'utf8'));
      const at = slots[k]!;
      // A later add of the batch may have taken the slot; then it is that one's.
      if (index[at + WHERE] === -(k + 1)) {
        index[at + WHERE] = position + 1;
        index[at + LENGTHS] = recordBytes * LENGTH_SPLIT + tokenBytes;
      }
      position += recordBytes;
    }
    this.#head = start + written;
    batch.length = 0;
    slots.length = 0;
    this.#batchChars = 0;
  }
}

/** The fields of an index slot, and how many there are. */
const WHERE = 0;
const ADDED = 1;
const TAG = 2;
/** The record's byte length times {@link LENGTH_SPLIT}, plus its token's. */
const LENGTHS = 3;
const FIELDS = 4;
/** Tokens are at most a few hundred bytes; records at most a quarter of 1 GiB. */
const LENGTH_SPLIT = 2 ** 16;

/** Replies that wait for one write into the ring. */
const BATCH = 256;

/** FNV-1a over UTF-16 units. */
export function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
