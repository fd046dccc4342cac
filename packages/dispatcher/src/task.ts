/**
 * A task's record and its state machine. `state`, `attempt`, `spent`,
 * `retriesLeft` and `retried` change here and nowhere else.
 *
 * | from                  | event                                              | to      | counters                               |
 * |-----------------------|----------------------------------------------------|---------|----------------------------------------|
 * | New                   | {@link delay}: not due yet (`delayMs`, `runAt`)     | Waiting |                                        |
 * | New, Waiting          | {@link queue}: into the local queue (no worker can take it now) | Queued |                           |
 * | New, Queued, Waiting  | {@link startAttempt}, if {@link mayStartAttempt}    | Sent    | attempt + 1, spent + 1                 |
 * | Sent                  | {@link acknowledge}: the worker acked               | Acked   | acknowledged = true                    |
 * | Sent, Acked           | {@link resend}: the same attempt again (recovery)   | Sent    | resent = true (acknowledged kept)      |
 * | Sent, Acked           | {@link endAttempt}, may have run (no ack, worker died or left) | Waiting |                         |
 * | Sent, Acked           | {@link endAttempt}, never ran (nobody subscribed, BUSY or DRAINING nack) | Waiting | spent − 1 unless acknowledged or resent |
 * | Sent, neither         | {@link publishFailed}: Redis refused the publish   | Waiting | spent − 1                              |
 * | Sent, Acked           | {@link retryAfterError}, if retries are left        | Waiting | spent − 1, retriesLeft − 1, retried + 1 |
 * | any but Settled       | {@link settle}                                      | Settled |                                        |
 *
 * **The attempt bound**, the one rule: `spent` counts the attempts that may have
 * run, less those a retry paid for, and a new attempt starts only while it is
 * below `maxAttempts`. A retryable handler error moves its run from `spent` to
 * the task's `retries`; an attempt that provably reached no handler is taken
 * back — never one its worker acknowledged, nor one sent twice (the refusal of
 * one copy says nothing of the other). So
 * a task's handler runs at most `maxAttempts + retries` times. Each
 * attempt adds one to `spent` when it starts and takes at most one back when it
 * ends (a transition leaves Sent or Acked only once), so nothing is counted twice.
 */
import type { RemoteError } from '@ringcast/protocol';
import type { WheelEntry } from './timer-wheel.js';

export enum TaskState {
  /** Made by `dispatch()`, not yet sent or queued. */
  New,
  /** Waiting in the local queue for a worker. */
  Queued,
  /** The current attempt was published; no ack yet. */
  Sent,
  /** The current attempt's worker acknowledged it. */
  Acked,
  /**
   * Between attempts, not in the local queue: not due yet (before its first
   * attempt), a retry's backoff, a publish Redis refused, or an attempt that just
   * ended without an outcome, on its way to the next attempt, the queue or its
   * failure. Only Queued tasks are in the queue.
   */
  Waiting,
  Settled,
}

/** A task in the dispatcher's ledger; `W` is the dispatcher's view of a worker. */
export interface TaskRecord<W> extends WheelEntry {
  /** The dispatcher's counter when the task was made; its id is the incarnation, then this in base 36. */
  readonly seq: number;
  readonly id: string;
  /**
   * A durable task run by this dispatcher as its owner: its id is the durable
   * id, each attempt is recorded in the store, and its resolve and reject write
   * the outcome there (durable/durable-tasks.ts).
   */
  readonly durable: boolean;
  readonly handler: string;
  /**
   * The payload, JSON-encoded once. The message is built around it per attempt,
   * not kept whole: a task in flight holds as few objects as it can, since every
   * young-generation collection it lives through copies them.
   */
  readonly payload: string | undefined;
  /**
   * Bytes the task's frame takes, at most: no worker that accepts less gets it.
   * Counted exactly only when a rough bound might not fit, so it may be loose.
   */
  bytes: number;
  readonly deadline: number;
  /** The caller's routing key, for the `consistent-hash` strategy. */
  readonly key: string | undefined;
  /** Higher goes first from the local queue; 0 by default. */
  readonly priority: number;
  /** When the current attempt was sent (epoch ms): its round trip is timed from here. */
  sentAt: number;
  /** `performance.now()` when the record was made: the task's end-to-end latency is timed from here. */
  readonly createdAt: number;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  readonly state: TaskState;
  /** The current attempt's number, 0 until the task is first sent; its token is `${id}.${attempt}`. */
  readonly attempt: number;
  /** Attempts that may have run, less those a retry paid for; bounded by `maxAttempts`. */
  readonly spent: number;
  readonly retriesLeft: number;
  /** Retries made so far: the exponent of the next backoff. */
  readonly retried: number;
  /** The handler error the last retry followed: a timeout that overtakes the retries reports it. */
  readonly lastError: RemoteError | undefined;
  worker: W | undefined;
  /**
   * Whether the current attempt was ever acknowledged. A re-send (recovery)
   * takes it back to Sent for a fresh ack, but it may still be running on its
   * worker: only an attempt never acknowledged can be taken back as unrun.
   */
  readonly acknowledged: boolean;
  /**
   * Whether the current attempt was sent more than once (recovery). A refusal
   * (BUSY, DRAINING) or a silent channel answers for one copy only: the other
   * may still be taken and run, so the attempt cannot be taken back as unrun.
   */
  readonly resent: boolean;
  /** Incarnation of the worker process that acknowledged the current attempt. */
  ackedBy: string | undefined;
  lastWorker: W | undefined;
  /** The caller's signal, while the task listens on it (settlement.ts, abort-listeners.ts). */
  signal: AbortSignal | undefined;
}

/** What a new task is made of; everything else starts at its initial value. */
export interface NewTask {
  seq: number;
  id: string;
  durable: boolean;
  handler: string;
  payload: string | undefined;
  bytes: number;
  deadline: number;
  key: string | undefined;
  priority: number;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  retries: number;
  signal: AbortSignal | undefined;
  /**
   * The attempt before the first this process sends: 0, or for a durable task
   * another dispatcher ran before, the last it recorded, so that tokens never
   * repeat across owners.
   */
  attempt: number;
}

/** A task in state New: the one place a record is made, so every record has one shape. */
export function newTask<W>(t: NewTask): TaskRecord<W> & WheelEntry {
  return {
    seq: t.seq,
    id: t.id,
    durable: t.durable,
    handler: t.handler,
    payload: t.payload,
    bytes: t.bytes,
    deadline: t.deadline,
    key: t.key,
    priority: t.priority,
    sentAt: 0,
    createdAt: performance.now(),
    resolve: t.resolve,
    reject: t.reject,
    state: TaskState.New,
    attempt: t.attempt,
    spent: 0,
    retriesLeft: t.retries,
    retried: 0,
    lastError: undefined,
    worker: undefined,
    acknowledged: false,
    resent: false,
    ackedBy: undefined,
    lastWorker: undefined,
    signal: t.signal,
    wakeAt: 0,
    wheelPrev: undefined,
    wheelNext: undefined,
    wheelSlot: -1,
  };
}

/** The record's counters as this module alone may write them. */
type Mutable<W> = {
  -readonly [K in keyof TaskRecord<W>]: TaskRecord<W>[K];
};

function open<W>(task: TaskRecord<W>): Mutable<W> {
  return task as Mutable<W>;
}

/** The attempt bound: whether a new attempt of `task` may start. */
export function mayStartAttempt(task: TaskRecord<unknown>, maxAttempts: number): boolean {
  return task.spent < maxAttempts;
}

/** New → Waiting: the task is not due yet (`delayMs`, `runAt`); the wheel wakes it when it is. */
export function delay<W>(task: TaskRecord<W>): void {
  if (task.state !== TaskState.New) return;
  open(task).state = TaskState.Waiting;
}

/** Whether `task` waits for its due time: Waiting before its first attempt. */
export function isDelayed(task: TaskRecord<unknown>): boolean {
  return task.state === TaskState.Waiting && task.attempt === 0;
}

/** New or Waiting → Queued. */
export function queue<W>(task: TaskRecord<W>): void {
  if (task.state !== TaskState.New && task.state !== TaskState.Waiting) return;
  open(task).state = TaskState.Queued;
}

/**
 * Starts a new attempt: New, Queued or Waiting → Sent. False, and no change,
 * when the attempt bound forbids it or the task is not between attempts.
 */
export function startAttempt<W>(task: TaskRecord<W>, maxAttempts: number): boolean {
  const s = task.state;
  if (s !== TaskState.New && s !== TaskState.Queued && s !== TaskState.Waiting) return false;
  if (!mayStartAttempt(task, maxAttempts)) return false;
  const t = open(task);
  t.attempt++;
  t.spent++;
  t.acknowledged = false;
  t.resent = false;
  t.state = TaskState.Sent;
  return true;
}

/** Sent → Acked; false if the task was not waiting for an ack. */
export function acknowledge<W>(task: TaskRecord<W>): boolean {
  if (task.state !== TaskState.Sent) return false;
  const t = open(task);
  t.acknowledged = true;
  t.state = TaskState.Acked;
  return true;
}

/** Sent or Acked → Sent: the current attempt is sent again, as itself, and needs a fresh ack. */
export function resend<W>(task: TaskRecord<W>): boolean {
  if (task.state !== TaskState.Sent && task.state !== TaskState.Acked) return false;
  const t = open(task);
  t.resent = true;
  t.state = TaskState.Sent;
  return true;
}

/**
 * The current attempt is over without an outcome: Sent or Acked → Waiting (the
 * caller sends it again, queues it, or fails it: it is not in the queue yet).
 * `ran` says whether it may have reached a handler; if not, it is taken back.
 * Returns whether a new attempt may start (false also when no attempt was open).
 */
export function endAttempt<W>(task: TaskRecord<W>, ran: boolean, maxAttempts: number): boolean {
  if (task.state !== TaskState.Sent && task.state !== TaskState.Acked) return false;
  const t = open(task);
  // An attempt its worker acknowledged reached a handler, whatever the caller thinks;
  // one sent twice may yet reach one through the other copy.
  if (!ran && !t.acknowledged && !t.resent) t.spent--;
  t.state = TaskState.Waiting;
  return mayStartAttempt(task, maxAttempts);
}

/** Redis refused the publish, so no worker heard it: Sent → Waiting, the attempt taken back. */
export function publishFailed<W>(task: TaskRecord<W>): boolean {
  if (task.state !== TaskState.Sent || task.acknowledged || task.resent) return false;
  const t = open(task);
  t.spent--;
  t.state = TaskState.Waiting;
  return true;
}

/**
 * The handler failed with a retryable `error`: if the task has retries left,
 * Sent or Acked → Waiting, and the run is paid for by a retry instead of an
 * attempt. False, and no change, when no retry is left.
 */
export function retryAfterError<W>(task: TaskRecord<W>, error: RemoteError): boolean {
  if (task.state !== TaskState.Sent && task.state !== TaskState.Acked) return false;
  if (task.retriesLeft <= 0) return false;
  const t = open(task);
  t.retriesLeft--;
  t.retried++;
  t.spent--;
  t.lastError = error;
  t.state = TaskState.Waiting;
  return true;
}

/** Any state → Settled. Returns the state it left, or undefined if it had settled already. */
export function settle<W>(task: TaskRecord<W>): TaskState | undefined {
  const from = task.state;
  if (from === TaskState.Settled) return undefined;
  open(task).state = TaskState.Settled;
  return from;
}
