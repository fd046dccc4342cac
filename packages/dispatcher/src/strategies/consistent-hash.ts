import type { Candidate, Strategy } from '../strategy.js';
import { weightOf } from './alias-table.js';
import { hashString, pointHash } from './hash.js';
import { WeightedRoundRobin } from './weighted-round-robin.js';

/** Virtual nodes of the heaviest worker, at most (and at least half of it). */
const MAX_POINTS_PER_WORKER = 1024;
/** Virtual nodes on the whole ring, at most: 2¹⁸, 1 MiB each for positions and owners. */
const MAX_POINTS = 1 << 18;
/** Packing a point as position × 2²⁰ + owner keeps a sort of plain numbers exact below 2⁵³. */
const OWNER_BITS = 2 ** 20;

/**
 * The `consistent-hash` strategy: a task's `key` picks its worker, the same
 * one every time while membership is stable, so per-key state (a cache, a
 * connection, an ordering) stays on one worker. When a worker joins or leaves
 * only the keys on its share of the ring move (about 1/n of them).
 *
 * **The ring.** Each worker has virtual nodes in proportion to its weight, at
 * positions hashed from its id, so every dispatcher that sees the same workers
 * builds the same ring. Their number depends on the weights alone — the
 * heaviest worker gets between 512 and 1,024, through a scale that is a power
 * of two — so a join or leave moves only the changed worker's keys, unless it
 * changes the heaviest weight across a power of two. A key is hashed (FNV-1a,
 * mixed; no allocation) and looked up by binary search: O(log n).
 *
 * **Bounded loads** (Mirrokni, Thorup and Zadimoghaddam, "Consistent Hashing
 * with Bounded Loads", 2018). A worker may hold at most
 * ⌈(1 + ε) × (m + 1) × weight / total weight⌉ attempts, m being this
 * dispatcher's attempts in flight on the ring: one above it passes the key
 * clockwise to the next worker, as does one the filter rejects. So a hot key
 * spills over to its next choices instead of swamping one worker, and no worker
 * carries more than (1 + ε) times its fair share. A smaller ε balances more and
 * moves more keys under load. When every worker the filter accepts is above its
 * bound, the first of them takes the task: the bound spreads load, it never
 * refuses work. m is kept through {@link loadChanged}.
 *
 * Tasks without a key go to the smooth weighted ring.
 */
export class ConsistentHash<W extends Candidate> implements Strategy<W> {
  /** ε; `Infinity` turns the bound off. */
  readonly #epsilon: number;
  readonly #keyless = new WeightedRoundRobin<W>();
  /** Workers in id order: owners on the ring are indices into it. */
  #workers: W[] = [];
  #weights = new Float64Array(0);
  #members = new Set<W>();
  #totalWeight = 0;
  /** This dispatcher's attempts in flight on the ring's workers. */
  #inflight = 0;
  /** Ring positions, ascending, and the worker index owning each. */
  #points = new Uint32Array(0);
  #owners = new Int32Array(0);
  /** Walk marks: `seen[i] === stamp` once worker i was looked at in this pick. */
  #seen = new Int32Array(0);
  #stamp = 0;

  /** `epsilon` > 0 bounds each worker's load to (1 + ε) × its fair share; `Infinity` does not. */
  constructor(epsilon: number) {
    this.#epsilon = epsilon;
  }

  /** Virtual nodes on the ring. */
  get size(): number {
    return this.#points.length;
  }

  rebuild(workers: readonly W[]): void {
    this.#keyless.rebuild(workers);
    const sorted = [...workers].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const n = sorted.length;
    const weights = new Float64Array(n);
    let total = 0;
    let heaviest = 0;
    let inflight = 0;
    sorted.forEach((w, i) => {
      weights[i] = weightOf(w);
      total += weights[i]!;
      heaviest = Math.max(heaviest, weights[i]!);
      inflight += w.inflight;
    });
    let scale = n === 0 ? 1 : 2 ** Math.floor(Math.log2(MAX_POINTS_PER_WORKER / heaviest));
    while (total * scale > MAX_POINTS) scale /= 2;
    const counts = Array.from(weights, (w) => Math.max(1, Math.round(w * scale)));
    const size = counts.reduce((a, b) => a + b, 0);
    const packed = new Float64Array(size);
    let k = 0;
    sorted.forEach((w, i) => {
      const idHash = hashString(w.id);
      for (let p = 0; p < counts[i]!; p++) packed[k++] = pointHash(idHash, p) * OWNER_BITS + i;
    });
    packed.sort();
    const points = new Uint32Array(size);
    const owners = new Int32Array(size);
    for (let j = 0; j < size; j++) {
      const owner = packed[j]! % OWNER_BITS;
      points[j] = (packed[j]! - owner) / OWNER_BITS;
      owners[j] = owner;
    }
    this.#workers = sorted;
    this.#weights = weights;
    this.#members = new Set(sorted);
    this.#totalWeight = total;
    this.#inflight = inflight;
    this.#points = points;
    this.#owners = owners;
    this.#seen = new Int32Array(n);
    this.#stamp = 0;
  }

  pick<A>(accept: (worker: W, arg: A) => boolean, arg: A, key?: string): W | undefined {
    if (key === undefined) return this.#keyless.pick(accept, arg);
    const points = this.#points;
    const size = points.length;
    const n = this.#workers.length;
    if (size === 0) return undefined;
    if (this.#stamp === 0x7fffffff) {
      this.#seen.fill(0);
      this.#stamp = 0;
    }
    const stamp = ++this.#stamp;
    const seen = this.#seen;
    // (1 + ε) × m, this attempt counted: a worker may hold ⌈that × weight / total⌉.
    const allowed = (1 + this.#epsilon) * (this.#inflight + 1);
    let overBound: W | undefined;
    let looked = 0;
    let j = lowerBound(points, hashString(key));
    for (let steps = 0; steps < size && looked < n; steps++, j++) {
      if (j === size) j = 0;
      const owner = this.#owners[j]!;
      if (seen[owner] === stamp) continue;
      seen[owner] = stamp;
      looked++;
      const worker = this.#workers[owner]!;
      if (!accept(worker, arg)) continue;
      if (worker.inflight < bound(allowed, this.#weights[owner]!, this.#totalWeight)) return worker;
      overBound ??= worker;
    }
    return overBound;
  }

  loadChanged(worker: W, delta: number): void {
    if (this.#members.has(worker)) this.#inflight += delta;
  }
}

/**
 * ⌈allowed × weight / total⌉, with a rounding error forgiven: 1.25 × 100 × 11 / 55
 * is 25, and must not come out as 25.000000000000004 and so 26.
 */
function bound(allowed: number, weight: number, total: number): number {
  return Math.ceil((allowed * weight) / total - 1e-9);
}

/** The first index whose position is at least `h` (`points.length` if none). */
function lowerBound(points: Uint32Array, h: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]! < h) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
