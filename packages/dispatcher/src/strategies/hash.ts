/**
 * The hashes of the consistent-hash ring: fast, non-cryptographic, 32-bit, and
 * computed without allocating (a key is read one UTF-16 unit at a time, never
 * encoded to bytes). FNV-1a alone mixes the last characters of short keys into
 * the high bits poorly, and the ring orders by the whole 32 bits, so its result
 * goes through murmur3's finaliser, which spreads every input bit over all 32.
 */

/** murmur3's fmix32: a bijection on 32-bit integers with full avalanche. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over the string's UTF-16 code units, then {@link mix32}: an unsigned 32-bit hash. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // Both bytes of the unit, so keys that differ only in a high byte still differ.
    h = Math.imul(h ^ (c & 0xff), 0x01000193);
    h = Math.imul(h ^ (c >>> 8), 0x01000193);
  }
  return mix32(h);
}

/** The ring position of a worker's `point`-th virtual node, from the hash of its id. */
export function pointHash(idHash: number, point: number): number {
  // The golden-ratio step spreads consecutive point numbers before mixing.
  return mix32((idHash + Math.imul(point + 1, 0x9e3779b9)) | 0);
}
