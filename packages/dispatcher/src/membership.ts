/**
 * Membership: which workers are alive, as the registry and their heartbeats
 * say. Workers join and leave through reconcile rounds (every
 * `reconcileIntervalMs`, and soon after a hello), leave gracefully with a
 * `leave` message, and die when their heartbeat lapses. A live worker's weight
 * may change (an operator's `ringcast reweight`): its hello says so at once,
 * and the next reconcile round reads it from the registry if the hello was
 * missed. Every change rebuilds the strategy's view and the per-handler frame
 * limits admission checks.
 */
import type { Clock, Names, WorkerInfo } from '@ringcast/protocol';
import type { Delivery } from './delivery.js';
import type { Ledger } from './ledger.js';
import { applyHeartbeat, PRUNE_BATCH, type RegistryRead } from './liveness.js';
import type { LocalQueue } from './local-queue.js';
import type { DispatcherLog } from './log.js';
import type { ResolvedOptions } from './options.js';
import { RegistryWatch } from './registry-watch.js';
import type { Counters } from './stats.js';
import type { Strategy } from './strategy.js';
import { TaskState as State } from './task.js';
import type { TimerWheel } from './timer-wheel.js';
import type { DispatcherTransport } from './transport.js';
import { newWorkerState, routable, type Task, type WorkerState } from './worker-state.js';
import { viewOf, type WorkerView } from './worker-view.js';

/** Heartbeat TTL assumed for workers that do not advertise theirs. */
const DEFAULT_WORKER_TTL_MS = 3_000;

/** What membership needs of the rest of the dispatcher. */
export interface MembershipHost {
  readonly names: Names;
  /** The dispatcher's id: its full reconcile rounds are spread by it. */
  readonly id: string;
  readonly options: Pick<
    ResolvedOptions,
    'maxMessageBytes' | 'reconcileIntervalMs' | 'fullReconcileIntervalMs' | 'leaveGraceMs'
  >;
  readonly clock: Clock;
  readonly transport: Pick<
    DispatcherTransport,
    'readRegistry' | 'readHeartbeats' | 'readChanges' | 'readWorkers' | 'subscriberCounts' | 'prune'
  >;
  readonly strategy: Strategy<WorkerState>;
  readonly ledger: Pick<Ledger, 'attemptsOn'>;
  readonly delivery: Pick<Delivery, 'redeliver'>;
  readonly queue: Pick<LocalQueue, 'pump'>;
  readonly wheel: Pick<TimerWheel<Task>, 'schedule'>;
  readonly counters: Counters;
  readonly log: Pick<DispatcherLog, 'info' | 'warn'>;
  /** Whether the dispatcher is running (not starting, not closing). */
  running(): boolean;
}

export class Membership {
  readonly #host: MembershipHost;
  readonly #workers = new Map<string, WorkerState>();
  readonly #byChannel = new Map<string, WorkerState>();
  /** Every handler name some live worker registered, with the largest frame one of them accepts. */
  #handlers = new Map<string, number>();
  /** The smallest frame limit of this dispatcher and every live worker: a task within it fits them all. */
  #smallestLimit: number;
  readonly #watch: RegistryWatch;
  /** Heartbeat lapses are not taken as deaths before this (epoch ms); see {@link holdLivenessJudgement}. */
  #judgeLivenessAfter = 0;
  /** What every worker's `inflight` changes are reported to: the strategy, if it keeps count. */
  readonly #onLoad: ((worker: WorkerState, delta: number) => void) | undefined;
  /**
   * While a round is taken in, the strategy is rebuilt once at its end, not per
   * worker: a rebuild costs O(fleet) and more (the weighted ring's is O(cycle ×
   * fleet)), and at a thousand workers one per death made 40 deaths take seconds.
   */
  #batching = false;
  #stale = false;
  /** Workers gone in the batch under way; their attempts move once the strategy no longer holds them. */
  #departed: Array<{ worker: WorkerState; why: string }> = [];

  constructor(host: MembershipHost) {
    this.#host = host;
    const strategy = host.strategy;
    this.#onLoad = strategy.loadChanged
      ? (worker, delta) => strategy.loadChanged!(worker, delta)
      : undefined;
    this.#smallestLimit = host.options.maxMessageBytes;
    this.#watch = new RegistryWatch({
      clock: host.clock,
      options: host.options,
      transport: host.transport,
      log: host.log,
      phase: phaseOf(host.id),
      running: () => host.running(),
      apply: (round, scope) => this.#apply(round, scope),
      touch: (now) => {
        for (const w of this.#workers.values()) w.lastSeen = now;
      },
      holdLivenessJudgement: () => this.holdLivenessJudgement(),
      judgeAfter: () => this.#judgeLivenessAfter,
    });
  }

  get size(): number {
    return this.#workers.size;
  }

  /** The smallest frame limit of this dispatcher and every live worker. */
  get smallestLimit(): number {
    return this.#smallestLimit;
  }

  get(id: string): WorkerState | undefined {
    return this.#workers.get(id);
  }

  /** The live worker on `channel`, if any. */
  onChannel(channel: string): WorkerState | undefined {
    return this.#byChannel.get(channel);
  }

  /** The largest frame any live worker with `handler` accepts; undefined if none has it. */
  largestFrameFor(handler: string): number | undefined {
    return this.#handlers.get(handler);
  }

  /** Attempts the live, routable workers could take now: what durable work may be claimed for. */
  freeSlots(now: number): number {
    let free = 0;
    for (const w of this.#workers.values()) {
      if (w.inflight < w.capacity && routable(w, now)) free += w.capacity - w.inflight;
    }
    return free;
  }

  /** Whether some live, routable worker with `handler` has room now. */
  hasRoomFor(handler: string, now: number): boolean {
    for (const w of this.#workers.values()) {
      if (w.inflight < w.capacity && w.handlers.has(handler) && routable(w, now)) return true;
    }
    return false;
  }

  view(now: number): WorkerView[] {
    return [...this.#workers.values()].map((w) => viewOf(w, now));
  }

  /** Re-reads the whole registry and every heartbeat now (at start, after a resubscribe). */
  reconcile(): Promise<void> {
    return this.#watch.full();
  }

  /** What changed and what lapsed since the last look (the dispatcher's timer; registry-watch.ts). */
  tick(): Promise<void> {
    return this.#watch.tick();
  }

  /** A tick now, or right after the round in progress (a hello came). */
  reconcileSoon(): void {
    this.#watch.soon();
  }

  /** Stops the watch's timer (the dispatcher's own is stopped by the dispatcher). */
  stop(): void {
    this.#watch.stop();
  }

  /** The watch's rounds so far. */
  get rounds(): Readonly<RegistryWatch['rounds']> {
    return this.#watch.rounds;
  }

  /**
   * Takes a round of reads in: of every worker when `scope` is undefined,
   * otherwise of the workers in `scope` only (the others were not read, and
   * stay as they are). A known worker read without a heartbeat of its own
   * incarnation is dead, unless liveness judgement is on hold.
   */
  async #apply(round: RegistryRead, scope: ReadonlySet<string> | undefined): Promise<void> {
    const host = this.#host;
    const { clock, transport } = host;
    host.counters.invalidMessages += round.invalid;
    const judge = clock.now() >= this.#judgeLivenessAfter;
    const alive = new Set<string>();
    this.#batch(() => {
      for (const { info, beat } of round.workers) {
        if (beat?.incarnation === info.incarnation && (scope === undefined || scope.has(info.id))) {
          alive.add(info.id);
          this.#upsert(info);
          applyHeartbeat(this.#workers.get(info.id)!, beat, host.options.reconcileIntervalMs);
        }
      }
      if (judge) {
        const judged =
          scope === undefined
            ? [...this.#workers.values()]
            : [...scope].flatMap((id) => this.#workers.get(id) ?? []);
        for (const w of judged) {
          if (!alive.has(w.id)) this.#gone(w, `worker ${w.id}'s heartbeat lapsed`);
        }
      }
    });
    const suspected = [...this.#workers.values()].filter((w) => w.suspected);
    if (suspected.length > 0) {
      const counts = await transport.subscriberCounts(suspected.map((w) => w.channel));
      suspected.forEach((w, i) => {
        if (counts[i]! > 0) w.suspected = false;
      });
    }
    host.queue.pump();
    // Dead workers' entries go, so the registry stays as small as the fleet;
    // never while a lapse may be Redis's doing.
    if (judge && round.lapsed.length > 0) {
      await transport.prune(round.lapsed.slice(0, PRUNE_BATCH));
    }
  }

  /**
   * After Redis was unreachable or stalled, a worker's heartbeat key may have lapsed
   * (or vanished with a restarted Redis) while the worker was fine; give every
   * worker one heartbeat TTL to refresh it before a lapse counts as death.
   */
  holdLivenessJudgement(): void {
    let ttl = DEFAULT_WORKER_TTL_MS;
    for (const w of this.#workers.values()) ttl = Math.max(ttl, w.info.heartbeatTtlMs);
    this.#judgeLivenessAfter = Math.max(this.#judgeLivenessAfter, this.#host.clock.now() + ttl);
  }

  /** The worker said goodbye: unacknowledged attempts go elsewhere now, acknowledged ones get a grace period. */
  leaving(w: WorkerState): void {
    const host = this.#host;
    w.leaving = true;
    const graceEnd = host.clock.now() + host.options.leaveGraceMs;
    for (const task of host.ledger.attemptsOn(w)) {
      // Never acknowledged, it never ran there; one re-sent after an ack may be running.
      if (task.state === State.Sent && !task.acknowledged) {
        host.delivery.redeliver(task, false, `worker ${w.id} left`);
      } else host.wheel.schedule(task, Math.min(task.deadline, graceEnd));
    }
    host.queue.pump();
  }

  /**
   * A hello from a process this dispatcher knows: it takes the weight the
   * worker announces now, without waiting for the next reconcile round.
   */
  heard(w: WorkerState, info: WorkerInfo): void {
    if (w.gone || w.incarnation !== info.incarnation) return;
    this.#reweigh(w, info);
  }

  /** The same process with another weight: the ring changes in place, its attempts stay where they are. */
  #reweigh(w: WorkerState, info: WorkerInfo): void {
    if (info.weight === w.weight) return;
    const previous = w.weight;
    w.info = info;
    w.weight = info.weight;
    this.#rebuild();
    this.#host.log.info(`worker ${w.id}: weight ${previous} → ${info.weight}`, {
      worker: w.id,
      weight: info.weight,
      previousWeight: previous,
    });
  }

  #upsert(info: WorkerInfo): void {
    const host = this.#host;
    const now = host.clock.now();
    const existing = this.#workers.get(info.id);
    if (existing) {
      existing.lastSeen = now;
      if (existing.incarnation === info.incarnation) {
        this.#reweigh(existing, info);
        return;
      }
    }
    const worker = newWorkerState(info, host.names.workerChannel(info.id), now, this.#onLoad);
    if (existing) {
      // Restarted under the same id, on the same channel: attempts the new process
      // already acknowledged are running there, not lost with the old one. (The
      // strategy counts them afresh in the rebuild that follows.)
      for (const task of host.ledger.attemptsOn(existing)) {
        if (task.ackedBy !== info.incarnation) continue;
        existing.inflight--;
        worker.inflight++;
        task.worker = worker;
        task.lastWorker = worker;
      }
      this.#gone(existing, `worker ${info.id} restarted`);
    }
    if (host.running()) {
      // First in line: a ring restarts at its first member on a rebuild, so a
      // worker that joins a running fleet gets work at once rather than after a
      // cycle through every other worker (5 s for 1,000 workers at 200 tasks/s).
      const others = [...this.#workers.values()];
      this.#workers.clear();
      this.#workers.set(info.id, worker);
      for (const w of others) this.#workers.set(w.id, w);
    } else this.#workers.set(info.id, worker);
    this.#byChannel.set(worker.channel, worker);
    this.#rebuild();
    host.log.info(
      `worker ${info.id} joined (weight ${info.weight}, concurrency ${info.concurrency})`,
      {
        worker: info.id,
        incarnation: info.incarnation,
        weight: info.weight,
        concurrency: info.concurrency,
      },
    );
  }

  /** Runs `change` with the strategy rebuilt once at its end, then moves the departed workers' attempts. */
  #batch(change: () => void): void {
    this.#batching = true;
    try {
      change();
    } finally {
      this.#batching = false;
      if (this.#stale) this.#rebuild();
      const departed = this.#departed;
      this.#departed = [];
      for (const { worker, why } of departed) this.#moveAttempts(worker, why);
    }
  }

  /** The worker is dead or restarted: everything it had goes elsewhere. */
  #gone(w: WorkerState, why: string): void {
    if (w.gone) return;
    w.gone = true;
    this.#workers.delete(w.id);
    this.#byChannel.delete(w.channel);
    this.#rebuild();
    // The strategy must not hold it when its attempts are sent again.
    if (this.#batching) this.#departed.push({ worker: w, why });
    else this.#moveAttempts(w, why);
  }

  /** A departed worker's attempts: sent elsewhere, or (it is draining) given their grace. */
  #moveAttempts(w: WorkerState, why: string): void {
    const host = this.#host;
    const attempts = host.ledger.attemptsOn(w);
    // A worker that said goodbye removed its own heartbeat: it is draining, not
    // dead. What it acknowledged it finishes; the grace period (see leaving())
    // re-sends what it does not finish in time. Only the rest goes now.
    const graceEnd = host.clock.now() + host.options.leaveGraceMs;
    let moved = 0;
    for (const task of attempts) {
      // Acknowledged, even if re-sent since (Sent again): it is finishing there.
      if (w.leaving && (task.state === State.Acked || task.acknowledged)) {
        if (task.wheelSlot < 0 || task.wakeAt > graceEnd) {
          host.wheel.schedule(task, Math.min(task.deadline, graceEnd));
        }
        continue;
      }
      moved++;
      host.delivery.redeliver(task, true, why);
    }
    host.log.info(
      w.leaving
        ? `worker ${w.id} left; re-dispatching its ${moved} unacknowledged attempt(s), ` +
            `waiting for the ${attempts.length - moved} it is finishing`
        : `${why}; re-dispatching its ${moved} unfinished attempt(s)`,
      {
        worker: w.id,
        incarnation: w.incarnation,
        event: w.leaving ? 'left' : 'gone',
        redelivered: moved,
        finishing: attempts.length - moved,
      },
    );
    host.queue.pump();
  }

  #rebuild(): void {
    this.#stale = this.#batching;
    if (this.#batching) return;
    const workers = [...this.#workers.values()];
    this.#host.strategy.rebuild(workers);
    const handlers = new Map<string, number>();
    let smallest = this.#host.options.maxMessageBytes;
    for (const w of workers) {
      smallest = Math.min(smallest, w.maxMessageBytes);
      for (const h of w.handlers) {
        handlers.set(h, Math.max(handlers.get(h) ?? 0, w.maxMessageBytes));
      }
    }
    this.#handlers = handlers;
    this.#smallestLimit = smallest;
  }
}

/** A dispatcher's phase in [0, 1), from its id (FNV-1a): fixed for the id, different across ids. */
function phaseOf(id: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) / 2 ** 32;
}
