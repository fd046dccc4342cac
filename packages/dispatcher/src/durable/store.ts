/**
 * Where durable tasks live: the one seam between the dispatcher's durable core
 * and their storage. Every operation is semantic and atomic, so the fencing
 * lives in the store rather than in its callers: `redis-store.ts` does each in
 * one Lua script (or MULTI), `memory-store.ts` inside one command of protocol's
 * `MemoryRedis`. One contract suite (`testing/durable-store-contract.ts`) runs
 * against both.
 *
 * Lifecycle of a record, and who moves it:
 *
 * | from | to | by |
 * |---|---|---|
 * | — | delayed, waiting, active | `add` (runAt in the future; else the backlog; `claimBy`: its submitter runs it) |
 * | delayed | waiting | `claim`, once due |
 * | waiting | active | `claim` |
 * | active | waiting | `release` (its owner closes without finishing it) |
 * | active | active, another owner | `adopt` (its owner's heartbeat lapsed) |
 * | active | active, same owner | `reclaim` (a new process under its owner's id) |
 * | active | succeeded, failed, cancelled | `settle` by its owner; `release` of a task whose cancel was requested |
 * | waiting, delayed | failed, cancelled | `settle` without an owner (expiry), `cancel` |
 *
 * Arguments are checked before anything is sent: a bad one throws a
 * `DispatchError` (`INVALID_OPTIONS`, or `INVALID_MESSAGE` for a value JSON
 * cannot carry), or protocol's `RingcastError` `INVALID_OPTIONS` for an id no
 * key can be named after. What is read back from Redis never throws: a record
 * that cannot be read is counted in {@link DurableStore.malformed}.
 */
import type { DurableRecord, NewRecord, StoredError } from './record.js';
import type { MalformedRecords } from './record-decode.js';
import type { TaskPeek } from './task-peek.js';

export interface AddOptions {
  /** Epoch ms: the task's `createdAt`, and what its `runAt` is compared with. */
  now: number;
  /** The dispatcher that runs it at once (it had capacity): the task starts `active`, owned by it. */
  claimBy?: string;
  /**
   * Most tasks that may wait, waiting and delayed together: a task that would
   * go beyond is refused (`'full'`). A claimed task does not wait and is not counted.
   */
  maxBacklog?: number;
}

/**
 * What a claimer holds of a task it stored itself and still waits for (a durable
 * `dispatch()`): the record as it wrote it, and when. A claim that finds such a
 * task in the backlog builds its record from this copy and the few fields that
 * change while it waits (attempts, cancel, worker, startedAt), read in the claim,
 * instead of reading the whole record (payload included) back.
 */
export interface KnownRecord {
  record: NewRecord;
  createdAt: number;
}

/** A claimer's copies of its own tasks, by id (see {@link KnownRecord}). */
export type KnownRecords = (id: string) => KnownRecord | undefined;

/** What `add` did: stored it to wait (`added`) or to run (`claimed`), or wrote nothing. */
export type AddResult = 'added' | 'claimed' | 'full' | 'exists';

/** A task's outcome, as its terminal write stores it. */
export type Outcome =
  | { state: 'succeeded'; result?: unknown }
  | { state: 'failed' | 'cancelled'; error: StoredError };

export type SettleResult =
  /** Written, and announced on the settled channel. */
  | { kind: 'settled' }
  /** Refused: the task is not the writer's (another owner holds it, or it waits unowned). */
  | { kind: 'stale'; record: DurableRecord }
  /** Refused: it finished already; `record` holds the stored outcome, to answer a late writer's caller with. */
  | { kind: 'already'; record: DurableRecord }
  /** No record under this id (never added, or expired), or one that cannot be read. */
  | { kind: 'unknown' };

/** What `started` did: recorded the attempt, recorded it but the task is to be cancelled, or refused it. */
export type StartedResult = 'started' | 'cancel' | 'fenced';

export type CancelResult =
  /** It had not started: it is cancelled now, and settled. */
  | { kind: 'cancelled' }
  /** It runs: the request is stored; `owner` is to abort it and settle it. */
  | { kind: 'requested'; owner: string }
  /** It finished already. */
  | { kind: 'finished' }
  /** No record under this id, or one that cannot be read. */
  | { kind: 'unknown' };

export interface StoreCounts {
  /** Tasks in the backlog. */
  waiting: number;
  delayed: number;
  /** Active tasks over every registered dispatcher. */
  active: number;
  /** Active tasks per registered dispatcher id. */
  activeByOwner: Record<string, number>;
}

/**
 * Where a store announces the ids it settled, when it does not publish them on
 * the settled channel itself: a dispatcher with frame authentication signs the
 * announcement, which a Lua script cannot. Called once the write returned, with
 * the ids space-separated, as the channel carries them. Must not throw.
 */
export type SettledAnnouncer = (ids: string) => void;

export interface DurableStore {
  /**
   * Adds a new task: `delayed` when `runAt > now`, else `waiting` in the
   * backlog; or, with `claimBy`, straight to `active` owned by it (attempts
   * stay 0: the submitter had capacity) — unless its heartbeat has lapsed (it
   * was paused, or the write was held up past its TTL): then it waits (`added`). `'full'` with nothing written when
   * `maxBacklog` is set and that many tasks wait already; `'exists'` if the id
   * is taken (also by a finished record not yet expired).
   */
  add(record: NewRecord, options: AddOptions): Promise<AddResult>;
  /**
   * Moves delayed tasks due by `now` to the backlog (up to `DUE_BATCH` a call,
   * earliest first), then claims up to `n` waiting tasks for `owner`, highest
   * priority first, then oldest: state active, owner set, in its active set.
   * Two owners never get the same task. An owner whose heartbeat has lapsed
   * gets none: it may have been adopted, and what it took now nobody would adopt.
   * A claimed record that cannot be read is failed at once (`INVALID_MESSAGE`)
   * instead of returned. With `known`, a task the claimer holds a copy of is
   * returned as built from that copy (a store may read it back all the same):
   * the same record, but for its payload, which may come as `payloadJson`.
   */
  claim(owner: string, n: number, now: number, known?: KnownRecords): Promise<DurableRecord[]>;
  /**
   * `owner` starts attempt `attempt` on `worker`: attempts = attempt, worker,
   * and startedAt the first time; `'cancel'` if a cancel was requested meanwhile
   * (its request may have gone out before the owner knew the task). `'fenced'`,
   * writing nothing, if the task is not active or not `owner`'s (a stale owner).
   */
  started(
    id: string,
    owner: string,
    attempt: number,
    worker: string,
    now: number,
  ): Promise<StartedResult>;
  /**
   * The one fenced terminal write. With an `owner`: only while the task is
   * active and `owner`'s. Without: only while it waits or is delayed, and only
   * to fail or cancel it. Writes the state, the result or error and
   * finishedAt, takes the id out of every index (its owner's active set
   * included; the record's `owner` field stays, and a finished task reads as
   * having none), keeps the record for its `resultTtlMs`, and publishes the id
   * on the settled channel.
   */
  settle(
    id: string,
    owner: string | undefined,
    outcome: Outcome,
    now: number,
  ): Promise<SettleResult>;
  /**
   * Gives an active task back to the backlog (its owner closes without
   * finishing it): state waiting, owner cleared. A task whose cancel was
   * requested is cancelled instead, and settled. False if it is not `owner`'s.
   */
  release(id: string, owner: string, now: number): Promise<boolean>;
  /** The record, or undefined when there is none or it cannot be read. */
  get(id: string): Promise<DurableRecord | undefined>;
  /**
   * The task's state and `expiresAt` without its record (see `task-peek.ts`);
   * undefined when there is no record or they cannot be read.
   */
  peek(id: string): Promise<TaskPeek | undefined>;
  /**
   * Cancels: a waiting or delayed task at once (`CANCELLED`, settled as by
   * `settle`); an active one by storing the request for its owner.
   */
  cancel(id: string, now: number): Promise<CancelResult>;
  /**
   * Registers dispatcher `id` with its registry `entry` (JSON info), and
   * refreshes its heartbeat: `incarnation`, expiring after `ttlMs`.
   */
  beat(id: string, entry: string, incarnation: string, ttlMs: number): Promise<void>;
  /**
   * Ends dispatcher `id`'s heartbeat and, if it owns no active task, its
   * registration. One that still owns tasks stays registered, so it reads as
   * dead and they are adopted rather than lost.
   */
  leave(id: string): Promise<void>;
  /** Registered dispatcher ids whose heartbeat is gone. */
  deadOwners(): Promise<string[]>;
  /** Whether dispatcher `id`'s heartbeat lives (a process under it beat within its TTL). */
  beating(id: string): Promise<boolean>;
  /**
   * Atomically, once: if `dead`'s heartbeat is still absent, makes `owner` the
   * owner of every active task of `dead`, deletes `dead`'s active set and
   * registration, and returns the moved records. A second caller, any caller
   * while the heartbeat lives, and an `owner` whose own heartbeat lapsed get [].
   * Replies parked for `dead` are not
   * touched here. A moved record that cannot be read is failed at once.
   */
  adopt(dead: string, owner: string): Promise<DurableRecord[]>;
  /**
   * The active tasks of `owner`, for a new process started under its id: they
   * were its predecessor's, and stay `owner`'s (a dispatcher id names one live
   * process at a time). Ids in its active set that are no longer its active
   * tasks are dropped from it. A record that cannot be read is failed at once.
   */
  reclaim(owner: string): Promise<DurableRecord[]>;
  /** The ids in `owner`'s active set (its active tasks, but for a write in flight). */
  activeIds(owner: string): Promise<string[]>;
  /** How many tasks wait, are delayed, and are active (for stats; not one atomic read). */
  counts(): Promise<StoreCounts>;
  /** Records read back that could not be decoded, by the field that failed. */
  readonly malformed: MalformedRecords;
}
