/**
 * What the parts of the durable side share: the rest of the dispatcher they
 * lean on ({@link DurableHost}), the store, the waiting callers, the writes in
 * flight and the counts. Made once the dispatcher has started (the store lives
 * on its open connection).
 */
import type { Clock, Names } from '@ringcast/protocol';
import type { Delivery } from '../delivery.js';
import type { Ledger } from '../ledger.js';
import type { LocalQueue } from '../local-queue.js';
import type { DispatcherLog } from '../log.js';
import type { Membership } from '../membership.js';
import type { ResolvedOptions } from '../options.js';
import type { Settlement } from '../settlement.js';
import type { Counters } from '../stats.js';
import type { TaskTraces } from '../task-traces.js';
import type { TimerWheel } from '../timer-wheel.js';
import type { DispatcherTransport } from '../transport.js';
import type { Task } from '../worker-state.js';
import type { OutcomeWaiters } from './outcome-waiters.js';
import type { DurableStore, KnownRecord } from './store.js';
import type { StoreWrites } from './store-writes.js';

/** What the durable side needs of the rest of the dispatcher. */
export interface DurableHost {
  readonly id: string;
  readonly names: Names;
  readonly options: Pick<
    ResolvedOptions,
    'timeoutMs' | 'maxMessageBytes' | 'ownerHeartbeatMs' | 'maxBacklog'
  >;
  readonly clock: Clock;
  readonly counters: Counters;
  readonly log: Pick<DispatcherLog, 'warn'>;
  readonly ledger: Pick<Ledger, 'nextSeq' | 'add' | 'byId'>;
  readonly membership: Pick<Membership, 'size' | 'largestFrameFor' | 'freeSlots' | 'hasRoomFor'>;
  readonly queue: Pick<LocalQueue, 'size' | 'push' | 'pump'>;
  readonly wheel: Pick<TimerWheel<Task>, 'schedule'>;
  readonly delivery: Pick<Delivery, 'send' | 'redeliver'>;
  readonly settlement: Pick<Settlement, 'fail' | 'cancelRequested'>;
  /** Producer spans of submits, and the stored traces of the tasks this dispatcher runs. */
  readonly traces: Pick<TaskTraces, 'startProducer' | 'endProducer' | 'carry'>;
  readonly transport: Pick<DispatcherTransport, 'publish' | 'durableStore' | 'takeParked'>;
  /** A new durable task's id. */
  newTaskId(): string;
  /** Handles replies parked for this dispatcher's id that no durable task took (recovery.ts). */
  replayParked(frames: readonly string[]): void;
  /** Why no task is taken now (not started, closed), or undefined while running. */
  closedReason(): string | undefined;
  /** Whether close() has begun: a task this dispatcher comes to own goes back to the backlog. */
  closing(): boolean;
}

/** Counts of the durable side, for `stats().durable`. */
export interface DurableStats {
  /** Tasks this dispatcher claimed to run (at submit, or from the backlog). */
  claimed: number;
  /** Active tasks taken over from a dead dispatcher, or from this id's former process. */
  adopted: number;
  /** Adopted tasks settled from a result their worker parked for the dead dispatcher: not run again. */
  parkedSettled: number;
  /** Active tasks of ours in Redis that we did not run (a store reply lost), found and run. */
  orphans: number;
  /** Terminal writes refused because another owner held the task. */
  staleSettles: number;
  /** Terminal writes refused because the task had finished already. */
  lateWrites: number;
  /** Tasks dropped here because the store said another owner held them. */
  dropped: number;
  /** Active tasks given back to the backlog at close. */
  released: number;
}

export function emptyDurableStats(): DurableStats {
  return {
    claimed: 0,
    adopted: 0,
    parkedSettled: 0,
    orphans: 0,
    staleSettles: 0,
    lateWrites: 0,
    dropped: 0,
    released: 0,
  };
}

export interface DurableContext {
  readonly host: DurableHost;
  readonly store: DurableStore;
  readonly waiters: OutcomeWaiters;
  readonly writes: StoreWrites;
  readonly stats: DurableStats;
  /**
   * Copies of the tasks this dispatcher stored for a durable `dispatch()` still
   * waiting for its outcome, by id: a claim that takes one from the backlog
   * need not read its record back (see `KnownRecord`). Held exactly as long as
   * the call's own waiter, so bounded by the calls in flight, as their promises are.
   */
  readonly known: Map<string, KnownRecord>;
  /** Whether close() has begun: nothing new is taken. */
  stopped(): boolean;
}
