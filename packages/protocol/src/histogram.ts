/**
 * A log-linear histogram of durations with fixed buckets: the memory of one
 * histogram never grows, and recording a value is a few integer operations and
 * one array increment, no allocation.
 *
 * Values are kept in whole microseconds. Below 16 µs each microsecond has its
 * own bucket; from there each power of two is split into 16 equal buckets, so a
 * bucket is at most 1/16 of its lower bound wide. A percentile is the middle of
 * the bucket its rank falls in (clamped to the exact minimum and maximum), so it
 * is within 1/32 (about 3 %) of the exact value, or 1 µs below 16 µs. Values from
 * 2^32 µs (about 71 minutes) up share the last bucket.
 */

const SUB_BITS = 4;
const SUB = 1 << SUB_BITS;
/** Linear buckets 0..15 µs, then 16 per power of two from 2^4 to 2^31. */
export const HISTOGRAM_BUCKETS = SUB + (32 - SUB_BITS) * SUB;
const MAX_MICROS = 0xffff_ffff;

/** The bucket index of a duration in whole microseconds. */
export function bucketOf(micros: number): number {
  if (micros < SUB) return micros < 0 ? 0 : micros;
  const e = 31 - Math.clz32(micros);
  return SUB + (e - SUB_BITS) * SUB + ((micros >>> (e - SUB_BITS)) & (SUB - 1));
}

/** The lowest duration (µs) in bucket `index`; its upper bound is `bucketLow(index + 1)`. */
export function bucketLow(index: number): number {
  if (index < SUB) return index;
  const i = index - SUB;
  const e = (i >> SUB_BITS) + SUB_BITS;
  return (SUB + (i & (SUB - 1))) * 2 ** (e - SUB_BITS);
}

/** What a histogram says of its values, in milliseconds. */
export interface DurationSummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** The mean, exact (from the running sum). */
  avg: number;
}

export class DurationHistogram {
  readonly #counts = new Float64Array(HISTOGRAM_BUCKETS);
  #count = 0;
  #sumMicros = 0;
  #min = MAX_MICROS;
  #max = 0;

  /** Records a duration in milliseconds (fractions kept to the microsecond). */
  record(ms: number): void {
    let micros = Math.round(ms * 1000);
    if (!(micros >= 0)) micros = 0;
    else if (micros > MAX_MICROS) micros = MAX_MICROS;
    this.#counts[bucketOf(micros)]!++;
    this.#count++;
    this.#sumMicros += micros;
    if (micros < this.#min) this.#min = micros;
    if (micros > this.#max) this.#max = micros;
  }

  get count(): number {
    return this.#count;
  }

  /** The `q` quantile (0 < q ≤ 1) in milliseconds; 0 when empty. */
  quantile(q: number): number {
    return this.quantileMicros(q) / 1000;
  }

  /** The `q` quantile in microseconds: the middle of the bucket holding the value of rank ⌈q·count⌉. */
  quantileMicros(q: number): number {
    const n = this.#count;
    if (n === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * n));
    const counts = this.#counts;
    let seen = 0;
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
      seen += counts[i]!;
      if (seen >= rank) {
        const low = bucketLow(i);
        const mid = i < SUB ? low : (low + bucketLow(i + 1)) / 2;
        return Math.min(this.#max, Math.max(this.#min, mid));
      }
    }
    return this.#max;
  }

  /** Its buckets and bounds, for another process to {@link merge}. */
  snapshot(): HistogramSnapshot {
    const buckets: number[] = [];
    const counts = this.#counts;
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) if (counts[i]! > 0) buckets.push(i, counts[i]!);
    const empty = this.#count === 0;
    return {
      buckets,
      sumMicros: this.#sumMicros,
      minMicros: empty ? 0 : this.#min,
      maxMicros: this.#max,
    };
  }

  /** Adds the values of another histogram's snapshot to this one. */
  merge(snapshot: HistogramSnapshot): void {
    const { buckets } = snapshot;
    if (buckets.length === 0) return;
    for (let i = 0; i < buckets.length; i += 2) {
      this.#counts[buckets[i]!]! += buckets[i + 1]!;
      this.#count += buckets[i + 1]!;
    }
    this.#sumMicros += snapshot.sumMicros;
    if (snapshot.minMicros < this.#min) this.#min = snapshot.minMicros;
    if (snapshot.maxMicros > this.#max) this.#max = snapshot.maxMicros;
  }

  summary(): DurationSummary {
    const n = this.#count;
    return {
      count: n,
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p99: this.quantile(0.99),
      max: this.#max / 1000,
      avg: n === 0 ? 0 : this.#sumMicros / n / 1000,
    };
  }
}

/**
 * A histogram as JSON carries it between processes, so that a tool reading
 * several workers' histograms can merge them and take percentiles of the
 * whole: averaging each worker's p99 would not give the fleet's p99.
 */
export interface HistogramSnapshot {
  /** The non-empty buckets as pairs, `[index, count, index, count, …]`, indexes ascending. */
  buckets: number[];
  /** The sum of the values, in whole microseconds. */
  sumMicros: number;
  /** The smallest and largest value, in whole microseconds; both 0 when empty. */
  minMicros: number;
  maxMicros: number;
}

const isCount = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Reads a snapshot from untrusted JSON: undefined unless its buckets are valid
 * indexes in ascending order with positive counts and its bounds hold together.
 */
export function parseHistogramSnapshot(value: unknown): HistogramSnapshot | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { buckets, sumMicros, minMicros, maxMicros } = value as Record<string, unknown>;
  if (!Array.isArray(buckets) || buckets.length % 2 !== 0 || buckets.length > 2 * HISTOGRAM_BUCKETS)
    return undefined;
  if (!isCount(sumMicros) || !isCount(minMicros) || !isCount(maxMicros)) return undefined;
  if (minMicros > maxMicros || maxMicros > MAX_MICROS) return undefined;
  let previous = -1;
  for (let i = 0; i < buckets.length; i += 2) {
    const index: unknown = buckets[i];
    const count: unknown = buckets[i + 1];
    if (!isCount(index) || index <= previous || index >= HISTOGRAM_BUCKETS) return undefined;
    if (!isCount(count) || count === 0) return undefined;
    previous = index;
  }
  return { buckets: buckets as number[], sumMicros, minMicros, maxMicros };
}
