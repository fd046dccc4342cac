/**
 * The last reply of each finished attempt, by token, kept to answer a re-sent
 * attempt without running it again.
 *
 * Everything lives off the JS heap, in memory of fixed size allocated once:
 * - the replies, in a ring buffer: bounded by bytes (results may be large), and
 *   nothing for the garbage collector to copy. Kept as strings, replies outlived
 *   a few young-generation collections each and were copied and promoted on the
 *   way: a third of the worker's CPU per task in the bench;
 * - the index, a direct-mapped table from a hash of the token to the offset of
 *   its record and the full hash: two typed-array reads per incoming task, which
 *   is nearly always a miss (a first attempt).
 *
 * A record is `at` (float64, epoch ms), the token's and the reply's UTF-8
 * lengths (uint16, uint32), then their bytes. New records overwrite the oldest,
 * and a token whose slot another token takes loses its entry. A lookup accepts
 * the record its slot points to only if it is whole, young enough, and carries
 * the same token: an overwritten record or a hash collision is a miss, never a
 * wrong reply. A miss only means the re-sent attempt runs again, which
 * at-least-once execution allows.
 */
export class FinishedAttempts {
  readonly #ring: Buffer;
  /** Where the next record starts. */
  #write = 0;
  /** Offset + 1 of the newest record whose token hashes to each slot; 0 for none. */
  readonly #slots: Int32Array;
  /**
   * The full hash of that record's token. Once the ring has wrapped nearly every
   * slot points somewhere: comparing hashes turns away almost every first attempt
   * without reading the ring.
   */
  readonly #tags: Uint32Array;
  readonly #mask: number;
  readonly #maxAgeMs: number;

  /**
   * @param maxBytes size of the ring (up to 1 GiB); a reply larger than a quarter of it is not kept.
   * @param maxAgeMs replies older than this are never returned.
   */
  constructor(maxBytes: number, maxAgeMs: number) {
    if (!Number.isInteger(maxBytes) || maxBytes < 1024 || maxBytes > 2 ** 30) {
      throw new RangeError(`maxBytes must be an integer from 1024 to 2^30, got ${maxBytes}`);
    }
    this.#ring = Buffer.allocUnsafeSlow(maxBytes);
    // About one slot per 32 bytes of ring: more slots than records fit, so few collide.
    const slots = 2 ** Math.ceil(Math.log2(maxBytes / 32));
    this.#slots = new Int32Array(slots);
    this.#tags = new Uint32Array(slots);
    this.#mask = slots - 1;
    this.#maxAgeMs = maxAgeMs;
  }

  /** Bytes the ring holds, whatever is in it. */
  get capacity(): number {
    return this.#ring.length;
  }

  /** Records the encoded reply of a finished attempt. */
  add(token: string, encoded: string, now = Date.now()): void {
    const ring = this.#ring;
    const tag = hash(token);
    const slot = tag & this.#mask;
    // UTF-8 takes at most 3 bytes per UTF-16 unit: room for the worst case, so a write never wraps.
    const room = HEADER + 3 * (token.length + encoded.length);
    if (room > ring.length / 4) {
      // Too large to keep: whatever an earlier add left here must not answer for this token.
      this.#slots[slot] = 0;
      return;
    }
    if (this.#write + room > ring.length) this.#write = 0;
    const at = this.#write;
    const tokenBytes = ring.write(token, at + HEADER, 'utf8');
    const replyBytes = ring.write(encoded, at + HEADER + tokenBytes, 'utf8');
    ring.writeDoubleLE(now, at);
    ring.writeUInt16LE(tokenBytes, at + 8);
    ring.writeUInt32LE(replyBytes, at + 10);
    this.#write = at + HEADER + tokenBytes + replyBytes;
    this.#slots[slot] = at + 1;
    this.#tags[slot] = tag;
  }

  /** The encoded reply of a finished attempt, if it is still kept. */
  get(token: string, now = Date.now()): string | undefined {
    const tag = hash(token);
    const slot = tag & this.#mask;
    const at = this.#slots[slot]! - 1;
    if (at < 0 || this.#tags[slot] !== tag) return undefined;
    const ring = this.#ring;
    if (!(now - ring.readDoubleLE(at) <= this.#maxAgeMs)) return undefined;
    const tokenEnd = at + HEADER + ring.readUInt16LE(at + 8);
    const replyEnd = tokenEnd + ring.readUInt32LE(at + 10);
    if (replyEnd > ring.length) return undefined;
    if (ring.toString('utf8', at + HEADER, tokenEnd) !== token) return undefined;
    return ring.toString('utf8', tokenEnd, replyEnd);
  }
}

/** Bytes before a record's token: `at` (8), token length (2), reply length (4). */
const HEADER = 14;

/** FNV-1a over UTF-16 units. */
export function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
