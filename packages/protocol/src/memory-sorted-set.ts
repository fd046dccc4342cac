/**
 * One sorted set of the in-memory Redis model (`memory-redis.ts`), ordered as
 * Redis orders one: by score, then members with equal scores by their bytes
 * (lexicographically), so that ZPOPMIN and ZRANGEBYSCORE break ties the same
 * way a real server does and the in-memory store claims in the same order.
 *
 * Members are kept in an array sorted by (score, member): a pop or a range reads
 * its front, an insert or removal finds its place by binary search. The splice
 * is linear, which is plenty for the sizes unit tests and the simulator use.
 */
export class MemorySortedSet {
  readonly #scores = new Map<string, number>();
  readonly #order: string[] = [];

  get size(): number {
    return this.#scores.size;
  }

  score(member: string): number | undefined {
    return this.#scores.get(member);
  }

  /** Adds `member` or moves it to `score`; true if it is new. */
  add(member: string, score: number): boolean {
    if (Number.isNaN(score)) throw new Error('ERR value is not a valid float');
    const old = this.#scores.get(member);
    if (old === score) return false;
    if (old !== undefined) this.#order.splice(this.#insertionPoint(member, old), 1);
    this.#scores.set(member, score);
    this.#order.splice(this.#insertionPoint(member, score), 0, member);
    return old === undefined;
  }

  remove(member: string): boolean {
    const score = this.#scores.get(member);
    if (score === undefined) return false;
    this.#order.splice(this.#insertionPoint(member, score), 1);
    this.#scores.delete(member);
    return true;
  }

  /**
   * Members with `min <= score <= max` (`min < score` when `minExclusive`, Redis's
   * `(min`) in order, skipping `offset`, at most `count` (negative: all).
   */
  rangeByScore(
    min: number,
    max: number,
    offset = 0,
    count = -1,
    minExclusive = false,
  ): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    let i = this.#firstAtLeast(min);
    if (minExclusive) {
      while (i < this.#order.length && this.#scores.get(this.#order[i]!)! <= min) i++;
    }
    for (
      i += Math.max(0, offset);
      i < this.#order.length && (count < 0 || out.length < count);
      i++
    ) {
      const member = this.#order[i]!;
      const score = this.#scores.get(member)!;
      if (score > max) break;
      out.push([member, score]);
    }
    return out;
  }

  /** Removes and returns up to `count` members with the lowest scores, lowest first. */
  popMin(count: number): Array<[string, number]> {
    const taken = this.#order.splice(0, Math.max(0, count));
    return taken.map((member) => {
      const score = this.#scores.get(member)!;
      this.#scores.delete(member);
      return [member, score];
    });
  }

  /** The first index whose (score, member) is not below the given one. */
  #insertionPoint(member: string, score: number): number {
    let lo = 0;
    let hi = this.#order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const other = this.#order[mid]!;
      const otherScore = this.#scores.get(other)!;
      const below =
        otherScore < score || (otherScore === score && compareMembers(other, member) < 0);
      if (below) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #firstAtLeast(min: number): number {
    let lo = 0;
    let hi = this.#order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#scores.get(this.#order[mid]!)! < min) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * Redis's member order: by UTF-8 bytes, which is code point order. UTF-16 code
 * units agree with it except that a surrogate (half of a code point above
 * U+FFFF) must sort after every other code unit, U+E000–U+FFFF included.
 */
export function compareMembers(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xSurrogate = x >= 0xd800 && x <= 0xdfff;
    const ySurrogate = y >= 0xd800 && y <= 0xdfff;
    if (xSurrogate !== ySurrogate) return xSurrogate ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}
