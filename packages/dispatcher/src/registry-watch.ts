/**
 * Registry watch: how a dispatcher learns of joins, changes and deaths at a cost
 * that grows with changes, not with workers × time.
 *
 * Each tick (every `reconcileIntervalMs`, and soon after a hello) asks Redis one
 * small question (protocol's registry-log.ts): which workers changed since the
 * change number this dispatcher last saw, and whose heartbeat deadline passed.
 * Only those are read (entry and heartbeat) and taken in by membership; every
 * other worker is alive as far as anything says. A worker that beats as usual
 * costs the tick nothing.
 *
 * Deaths are noticed when they happen, not at the next tick: the tick learns the
 * earliest deadline and, if it falls before the next tick, wakes for it. So a
 * dead worker's attempts move one heartbeat TTL after its last beat.
 *
 * The whole registry and every heartbeat are read (a *full* round, what every
 * tick did before) when the log cannot be trusted to be complete: at start and
 * after a resubscribe; when the change number went back (Redis restarted
 * empty) or the log was trimmed past what this dispatcher saw; when more
 * changed than one tick reads; when a hold on liveness judgement ends (after
 * Redis was away, every worker is judged once); and, as the safety net for any
 * change the log missed, every `fullReconcileIntervalMs` on average, spread
 * over ±25 % by a phase of this dispatcher's own so that dispatchers do not all
 * read together.
 */
import {
  type Clock,
  ErrorCode,
  errorMessage,
  type RegistryChanges,
  type Timer,
} from '@ringcast/protocol';
import { type RegistryRead, readRegistry, readWorkers } from './liveness.js';
import type { DispatcherLog } from './log.js';
import type { ResolvedOptions } from './options.js';
import type { DispatcherTransport } from './transport.js';

/** Most ids of each kind (changed, lapsed) one tick reads; more and it reads everything. */
export const CHANGE_LIMIT = 500;

/** What the watch needs of membership and the dispatcher. */
export interface RegistryWatchHost {
  readonly clock: Clock;
  readonly options: Pick<ResolvedOptions, 'reconcileIntervalMs' | 'fullReconcileIntervalMs'>;
  readonly transport: Pick<
    DispatcherTransport,
    'readChanges' | 'readWorkers' | 'readRegistry' | 'readHeartbeats'
  >;
  readonly log: Pick<DispatcherLog, 'warn'>;
  /** This dispatcher's phase in [0, 1): where in the ±25 % its full rounds fall. */
  readonly phase: number;
  running(): boolean;
  /** Takes a round in: of every worker (`scope` undefined), or of the ids in `scope`. */
  apply(round: RegistryRead, scope: ReadonlySet<string> | undefined): Promise<void>;
  /** Every live worker was alive as of `now`. */
  touch(now: number): void;
  /** Redis answered so late that heartbeats may have lapsed for its sake. */
  holdLivenessJudgement(): void;
  /** Until when (epoch ms) lapses are not taken as deaths. */
  judgeAfter(): number;
}

/** How a dispatcher's successive full rounds move through the spread: never twice alike. */
const GOLDEN = 0.618_033_988_749_895;

export class RegistryWatch {
  readonly #host: RegistryWatchHost;
  /** The change number seen last; -1 before the first full round. */
  #seq = -1;
  #lastFullAt = Number.NEGATIVE_INFINITY;
  #nextFullAt = 0;
  #fulls = 0;
  #busy = false;
  #again = false;
  #fullAgain = false;
  #wake: Timer | undefined;
  #stopped = false;
  /** Rounds so far, full and not: for tests and the bench. */
  readonly rounds = { ticks: 0, full: 0, read: 0 };

  constructor(host: RegistryWatchHost) {
    this.#host = host;
  }

  /** One tick: what changed and what lapsed (or a full round when one is due). */
  tick(): Promise<void> {
    return this.#run(false);
  }

  /** A full round now, or right after the round in progress. */
  full(): Promise<void> {
    return this.#run(true);
  }

  /** A tick now, or right after the round in progress (whose reads may predate the news). */
  soon(): void {
    void this.#run(false);
  }

  stop(): void {
    this.#stopped = true;
    this.#host.clock.clearTimer(this.#wake);
    this.#wake = undefined;
  }

  async #run(forceFull: boolean): Promise<void> {
    if (this.#busy) {
      this.#again = true;
      this.#fullAgain ||= forceFull;
      return;
    }
    this.#busy = true;
    const host = this.#host;
    const { clock, transport } = host;
    try {
      const started = clock.now();
      const changes = await transport.readChanges(Math.max(0, this.#seq), CHANGE_LIMIT);
      const answeredAt = clock.now();
      // The small question answered this slowly means Redis stalled (paused, swapping):
      // heartbeats stalled with it. Only its answer is timed: what follows grows with
      // the fleet and with this process's own load, and a slow full read held every
      // judgement, round after round, at a thousand workers.
      if (answeredAt - started > host.options.reconcileIntervalMs) host.holdLivenessJudgement();
      const full = forceFull || this.#needsFull(changes, clock.now());
      let round: RegistryRead;
      let scope: Set<string> | undefined;
      if (full) {
        round = await readRegistry(transport);
      } else {
        scope = new Set([...changes.changed, ...changes.expired]);
        round = await readWorkers(transport, [...scope]);
      }
      this.rounds.ticks++;
      if (full) this.rounds.full++;
      this.rounds.read += full ? round.workers.length : (scope?.size ?? 0);
      if (!full) host.touch(clock.now());
      await host.apply(round, scope);
      this.#seq = changes.seq;
      if (full) this.#fullDone(started);
      this.#wakeForDeadline(changes, answeredAt);
    } catch (error) {
      host.log.warn('reconcile', `registry reconcile failed: ${errorMessage(error)}`, {
        code: ErrorCode.REDIS_ERROR,
      });
    } finally {
      this.#busy = false;
    }
    if (this.#again && host.running()) {
      const fullAgain = this.#fullAgain;
      this.#again = false;
      this.#fullAgain = false;
      await this.#run(fullAgain);
    }
  }

  /** Whether the log may not hold every change since this dispatcher last looked. */
  #needsFull(changes: RegistryChanges, now: number): boolean {
    const seen = this.#seq;
    if (seen < 0 || now >= this.#nextFullAt) return true;
    // The number went back: Redis restarted empty, or the log was lost. Or trimmed past us.
    if (changes.seq < seen || changes.floor > seen) return true;
    if (changes.changed.length >= CHANGE_LIMIT || changes.expired.length >= CHANGE_LIMIT) {
      return true;
    }
    // A hold on judgement ended since the last full round: judge every worker once.
    const held = this.#host.judgeAfter();
    return held > this.#lastFullAt && now >= held;
  }

  #fullDone(started: number): void {
    const { options, phase } = this.#host;
    this.#lastFullAt = started;
    const spread = (phase + this.#fulls++ * GOLDEN) % 1;
    const interval = options.fullReconcileIntervalMs * (0.75 + 0.5 * spread);
    this.#nextFullAt = started + Math.max(options.reconcileIntervalMs, interval);
  }

  /**
   * Wakes for the next deadline ahead if it comes before the next tick. `answeredAt`:
   * when (our clock) Redis told of it; the round since then took time of its own.
   */
  #wakeForDeadline(changes: RegistryChanges, answeredAt: number): void {
    const { clock, options } = this.#host;
    if (changes.nextDeadline === undefined || this.#wake !== undefined || this.#stopped) return;
    // Redis's clock on both sides: how far ahead the deadline is does not depend on ours.
    const ahead = changes.nextDeadline - changes.now + 1;
    if (ahead >= options.reconcileIntervalMs) return;
    const delay = Math.max(0, ahead - (clock.now() - answeredAt));
    this.#wake = clock.setTimeout(() => {
      this.#wake = undefined;
      if (this.#host.running()) void this.tick();
    }, delay);
  }
}
