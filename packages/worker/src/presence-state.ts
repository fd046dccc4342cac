/**
 * What the worker's main thread and its heartbeat thread share (see presence.ts).
 *
 * The main thread stamps each turn of its event loop; the heartbeat thread,
 * which keeps running while the main loop is blocked, reads the stamps to tell
 * dispatchers how long the loop has been blocked, and the few flags it needs to
 * know whether to beat at all. Times are `process.hrtime.bigint()` nanoseconds:
 * that clock is monotonic and the same in every thread of the process, unlike
 * `performance.now()` (each thread has its own origin) or `Date.now()` (which
 * jumps with the wall clock). Every access is an `Atomics` one, so no read tears.
 */
import { BEAT_SCRIPT, beatKeys } from '@ringcast/protocol';
import type { Redis } from 'ioredis';

/** The main thread's word to the heartbeat thread (presence-thread.ts): finish the beat in flight, disconnect, exit. */
export const STOP_MESSAGE = 'ringcast-presence-stop';

/** `BigInt64Array` slots. */
const TURN = 0; // the main loop's last stamp
const STALL_LEN = 1; // length of the last stall the main loop noticed
const STALL_END = 2; // when it ended
const THREAD_BEAT = 3; // the heartbeat thread's last successful write
const HELD_UNTIL = 4; // the end of the last time the whole process was held up (see LoopWatch)
const TIME_SLOTS = 5;

/** `Int32Array` slots, after the times. */
const LIVE = 0; // the subscription is known to be live: beat
const COMMAND_READY = 1; // the main command connection is up: replies can leave
const STOP = 2; // the worker is closing: beat no more
const OVERDUE = 3; // slots held past their task's deadline
const ENTRY_GENERATION = 4; // bumped with every new registry entry (a new weight): see PolicyReads
const FLAG_SLOTS = 5;

/**
 * The shortest stall worth reporting: four stamp periods, above the timer jitter
 * of a loaded host. Deliberately short: a dispatcher deciding whether a late ack
 * is explained needs to see a block soon after it began (its ack timeout, 5 s by
 * default, must exceed the heartbeat interval plus this); dispatchers apply their
 * own, longer threshold before they stop routing to a blocked worker.
 */
export const STALL_MS = 200;

const NS_PER_MS = 1_000_000n;

export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms)) * NS_PER_MS;
}

function nsToMs(ns: bigint): number {
  return Number(ns / NS_PER_MS);
}

function later(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/** A view of the shared memory; both threads make one over the same buffer. */
export class SharedLoopState {
  readonly buffer: SharedArrayBuffer;
  readonly #times: BigInt64Array;
  readonly #flags: Int32Array;

  constructor(buffer = new SharedArrayBuffer(TIME_SLOTS * 8 + FLAG_SLOTS * 4)) {
    this.buffer = buffer;
    this.#times = new BigInt64Array(buffer, 0, TIME_SLOTS);
    this.#flags = new Int32Array(buffer, TIME_SLOTS * 8, FLAG_SLOTS);
  }

  // ── written by the main thread ─────────────────────────────────────────

  /**
   * The main loop turned at `now`. A gap since its last stamp of `thresholdNs`
   * or more was a stall: it is recorded for the heartbeat thread to report.
   * Time the whole process was held up (stopped, starved) is not the loop's doing
   * and does not count.
   */
  turn(now: bigint, thresholdNs: bigint): void {
    const t = this.#times;
    const last = Atomics.load(t, TURN);
    const gap = now - later(last, Atomics.load(t, HELD_UNTIL));
    // The first stamp has nothing before it to measure.
    if (last !== 0n && gap >= thresholdNs) {
      // End first: a reader that sees the new length sees its end too.
      Atomics.store(t, STALL_END, now);
      Atomics.store(t, STALL_LEN, gap);
    }
    Atomics.store(t, TURN, now);
  }

  set live(live: boolean) {
    Atomics.store(this.#flags, LIVE, live ? 1 : 0);
  }

  set commandReady(ready: boolean) {
    Atomics.store(this.#flags, COMMAND_READY, ready ? 1 : 0);
  }

  set overdue(count: number) {
    Atomics.store(this.#flags, OVERDUE, count);
  }

  stop(): void {
    Atomics.store(this.#flags, STOP, 1);
  }

  /** The registry entry changed: weight-policy reads issued before now are stale. */
  newEntry(): void {
    Atomics.add(this.#flags, ENTRY_GENERATION, 1);
  }

  // ── read by either ─────────────────────────────────────────────────────

  /** Whether a heartbeat should be written now: running, subscribed, able to reply. */
  get beating(): boolean {
    const f = this.#flags;
    return (
      Atomics.load(f, STOP) === 0 &&
      Atomics.load(f, LIVE) === 1 &&
      Atomics.load(f, COMMAND_READY) === 1
    );
  }

  get overdue(): number {
    return Atomics.load(this.#flags, OVERDUE);
  }

  /** How many times the registry entry changed: read before a beat, to date its policy read. */
  get entryGeneration(): number {
    return Atomics.load(this.#flags, ENTRY_GENERATION);
  }

  /** When the heartbeat thread last wrote the heartbeat; 0 if never. */
  get threadBeat(): bigint {
    return Atomics.load(this.#times, THREAD_BEAT);
  }

  set threadBeat(at: bigint) {
    Atomics.store(this.#times, THREAD_BEAT, at);
  }

  /** How long the main loop has been blocked at `now` (0 below `thresholdNs`, or before its first stamp). */
  blockedMs(now: bigint, thresholdNs: bigint): number {
    const t = this.#times;
    const last = Atomics.load(t, TURN);
    const blocked = now - later(last, Atomics.load(t, HELD_UNTIL));
    return last !== 0n && blocked >= thresholdNs ? nsToMs(blocked) : 0;
  }

  /** The last stall the main loop noticed, if it ended within `windowNs` of `now`. */
  stalledMs(now: bigint, windowNs: bigint): number {
    const t = this.#times;
    const length = Atomics.load(t, STALL_LEN);
    if (length === 0n || now - Atomics.load(t, STALL_END) > windowNs) return 0;
    return nsToMs(length);
  }

  /** The whole process was held up until `now`: its main loop is not to blame for that. */
  heldUntil(now: bigint): void {
    Atomics.store(this.#times, HELD_UNTIL, now);
  }
}

/** What a heartbeat says about the main loop and the slots. */
export interface LoopReport {
  blockedMs: number;
  stalledMs: number;
  overdue: number;
}

/**
 * The heartbeat thread's reading of the shared state, once per beat. If its own
 * timer fired far too late, the whole process was held up (SIGSTOP, a starved
 * host, a VM pause), not just the main loop: the main loop's stamp is stale for
 * that reason, so the time is discounted rather than reported as a busy loop.
 * A stopped process must look dead once its TTL lapses, never busy.
 */
export class LoopWatch {
  readonly #state: SharedLoopState;
  readonly #intervalNs: bigint;
  readonly #thresholdNs: bigint;
  readonly #windowNs: bigint;
  #lastTick: bigint | undefined;

  constructor(state: SharedLoopState, intervalMs: number, ttlMs: number) {
    this.#state = state;
    this.#intervalNs = msToNs(intervalMs);
    this.#thresholdNs = msToNs(STALL_MS);
    // A stall that ended within one TTL may still hold back acks on the wire;
    // one that ended longer ago explains nothing any more.
    this.#windowNs = msToNs(ttlMs);
  }

  sample(now: bigint): LoopReport {
    const last = this.#lastTick;
    if (last !== undefined && now - last > this.#intervalNs + this.#thresholdNs) {
      this.#state.heldUntil(now);
    }
    this.#lastTick = now;
    return {
      blockedMs: this.#state.blockedMs(now, this.#thresholdNs),
      stalledMs: this.#state.stalledMs(now, this.#windowNs),
      overdue: this.#state.overdue,
    };
  }
}

/** Where a heartbeat goes. */
export interface BeatTarget {
  registryKey: string;
  /** The registry's change log and heartbeat deadlines (protocol's registry-log.ts). */
  registryVersionKey: string;
  registryChangesKey: string;
  heartbeatDeadlinesKey: string;
  /** The operator's weight policy hash, read with every beat (see weight-policy.ts). */
  weightsKey: string;
  heartbeatKey: string;
  /** The worker id's claim (identity.ts): kept alive with every beat while this process holds it. */
  claimKey: string;
  id: string;
  incarnation: string;
  /** The registry entry, JSON; replaced when the worker's weight changes. */
  entry: string;
  ttlMs: number;
}

/**
 * Writes one beat: the registry entry too, so a Redis that restarted empty
 * heals, and a dispatcher that pruned the entry while this worker was held up
 * sees it again. Both in one script, so a prune (which deletes an entry only if
 * its heartbeat key is absent) can never fall between them; the same script
 * moves the worker's heartbeat deadline and logs a change when the entry or
 * the heartbeat's value differ from what was stored (protocol's
 * registry-log.ts: what dispatchers watch instead of re-reading every worker),
 * and the operator's weight policy for this worker is read beside it, at no
 * extra round trip. Then the id's claim is extended, if this incarnation
 * still holds it: the claim is also checked from the main loop (identity.ts),
 * but a loop blocked past the TTL would let it lapse while the worker is
 * alive, and a duplicate could take the id. Rejects, never throws, whatever
 * the client does.
 */
export async function writeBeat(
  client: BeatClient,
  target: BeatTarget,
  value: string,
): Promise<string | null> {
  const keys = beatKeys(target);
  // Both sent before either answers: one round trip. Not a MULTI: nothing needs them
  // atomic, and a stand-in client (ioredis-mock) runs no EVAL inside one.
  const [, policy] = await Promise.all([
    client.eval(BEAT_SCRIPT, keys.length, ...keys, target.id, target.entry, value, target.ttlMs),
    client.hget(target.weightsKey, target.id),
  ]);
  // The claim lives in the id's own slot on a cluster: never in one script with the registry.
  await client.eval(REFRESH_CLAIM, 1, target.claimKey, target.incarnation, target.ttlMs);
  return typeof policy === 'string' ? policy : null;
}

/**
 * Weight-policy reads as beats bring them, passed on to the worker when they
 * may be news. A read is dated by the entry generation read before its beat
 * was sent: one sent before the entry last changed may predate what changed
 * it (an operator's HSET, then the reweight frame the worker already took),
 * so it is dropped rather than let it undo the change; the next beat reads
 * afresh. A read like the last one passed on is not passed on again.
 */
export class PolicyReads {
  readonly #state: SharedLoopState;
  readonly #deliver: (value: string | null) => void;
  #generation = -1;
  #value: string | null = null;

  constructor(state: SharedLoopState, deliver: (value: string | null) => void) {
    this.#state = state;
    this.#deliver = deliver;
  }

  /** A beat read `value`; `generation` is the entry generation read before it was sent. */
  read(value: string | null, generation: number): void {
    if (generation !== this.#state.entryGeneration) return;
    if (generation === this.#generation && value === this.#value) return;
    this.#generation = generation;
    this.#value = value;
    this.#deliver(value);
  }
}

/** What a beat needs of a Redis client: ioredis, or a stand-in with EVAL and HGET. */
export type BeatClient = Pick<Redis, 'eval' | 'hget'>;

const REFRESH_CLAIM = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;
