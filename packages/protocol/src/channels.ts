import { ErrorCode, RingcastError } from './errors.js';
import { isValidId } from './messages.js';

/** Namespace used when none is given. */
export const DEFAULT_NAMESPACE = 'ringcast';
const NAMESPACE_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Every Redis channel and key ringcast uses, under one namespace prefix. Nothing
 * outside this module spells a name by hand, so the two sides cannot drift.
 */
export interface Names {
  readonly namespace: string;
  /** Channel a worker subscribes to for its tasks and cancels. */
  workerChannel(workerId: string): string;
  /** Channel a dispatcher subscribes to for acks, nacks and results. */
  replyChannel(dispatcherId: string): string;
  /** Channel carrying worker hello and leave announcements. */
  readonly controlChannel: string;
  /** Hash: worker id → encoded {@link WorkerInfo}. */
  readonly registryKey: string;
  /**
   * Hash: worker id → the weight an operator set for it (`ringcast reweight`).
   * The operator's policy: it outlives the worker process and wins over the
   * weight the worker was started with, until the operator resets it.
   */
  readonly weightsKey: string;
  /**
   * Hash: `seq`, bumped by every change to the registry or a heartbeat's value;
   * `floor`, below which the change log was trimmed (registry-log.ts).
   */
  readonly registryVersionKey: string;
  /** Sorted set: worker id → the `seq` of its last change (registry-log.ts). */
  readonly registryChangesKey: string;
  /**
   * Sorted set: worker id → when its heartbeat lapses, by Redis's clock (epoch ms);
   * a dispatcher asks it for the lapsed ones only (registry-log.ts).
   */
  readonly heartbeatDeadlinesKey: string;
  /** String with a TTL, refreshed by the worker; its value is an encoded `Heartbeat` (heartbeat.ts). */
  heartbeatKey(workerId: string): string;
  /**
   * String with a TTL, rewritten by the worker about once a second: its
   * execution-time statistics, a JSON `WorkerReport` (handler-stats.ts). It
   * expires like the heartbeat when the worker dies.
   */
  workerStatsKey(workerId: string): string;
  /**
   * String with a TTL, written by the dispatcher about once a second while calls
   * settle, and not while it is idle: its end-to-end latency statistics, a JSON
   * `DispatcherReport` (stats-report.ts). Expires a TTL after its last write
   * (dispatcher option `statsTtlMs`); `close()` deletes it.
   */
  dispatcherStatsKey(dispatcherId: string): string;
  /**
   * Sorted set: the ids of the dispatchers that wrote a {@link dispatcherStatsKey}
   * lately, scored by when that key expires (epoch ms, by the writer's clock), so
   * that a tool finds them without scanning the keyspace. Pruned by the writers.
   */
  readonly dispatcherStatsIndexKey: string;
  /** List of frames a worker could not deliver to this dispatcher (nobody was subscribed). */
  parkedKey(dispatcherId: string): string;
  /**
   * String with a TTL, refreshed by the worker process that holds the id; its
   * value is that process's incarnation. Decides which of two processes started
   * with one id keeps it.
   */
  claimKey(workerId: string): string;
  /** Hash: one durable task's record (dispatcher `durable/record.ts` lists its fields). */
  taskKey(taskId: string): string;
  /**
   * What every {@link taskKey} starts with: `taskKey(id) === taskKeyPrefix + id`.
   * For the store's Lua scripts, which find task ids inside Redis (in the
   * backlog, an owner's active set) and must name their records there.
   */
  readonly taskKeyPrefix: string;
  /**
   * Sorted set: the ids of waiting durable tasks, scored by protocol's
   * `backlogScore` (highest priority first, then oldest).
   */
  readonly backlogKey: string;
  /** Sorted set: the ids of delayed durable tasks, scored by when they are due (epoch ms). */
  readonly delayedKey: string;
  /** Set: the ids of the durable tasks one dispatcher owns (state `active`). */
  activeKey(dispatcherId: string): string;
  /** Hash: dispatcher id → JSON `{ id, incarnation, host, pid, startedAt }`, for dispatchers that own durable tasks. */
  readonly dispatchersKey: string;
  /**
   * String with a TTL, refreshed by the dispatcher; its value is the
   * dispatcher's incarnation. When it lapses, another dispatcher adopts the
   * dead one's active tasks.
   */
  dispatcherHeartbeatKey(dispatcherId: string): string;
  /**
   * Channel: the id of every durable task that reached a terminal state, so waiters anywhere
   * wake; a message carries the ids one store call settled, space-separated.
   */
  readonly settledChannel: string;
  /**
   * Channel: the id of an active durable task whose cancel was requested with
   * `cancel(id)`; every dispatcher listens, and the task's owner aborts it.
   */
  readonly cancelChannel: string;
}

export function isValidNamespace(value: unknown): value is string {
  return typeof value === 'string' && NAMESPACE_PATTERN.test(value);
}

export function names(namespace: string = DEFAULT_NAMESPACE): Names {
  if (!isValidNamespace(namespace)) {
    throw new RingcastError(
      ErrorCode.INVALID_OPTIONS,
      `namespace must match ${NAMESPACE_PATTERN}, got ${JSON.stringify(namespace)}`,
    );
  }
  const checked = (what: string, id: string): string => {
    if (!isValidId(id))
      throw new RingcastError(
        ErrorCode.INVALID_OPTIONS,
        `${what} ${JSON.stringify(id)} is not a valid id`,
      );
    return id;
  };
  return {
    namespace,
    workerChannel: (id) => `${namespace}:w:${checked('worker id', id)}`,
    replyChannel: (id) => `${namespace}:d:${checked('dispatcher id', id)}`,
    controlChannel: `${namespace}:ctl`,
    registryKey: `${namespace}:workers`,
    weightsKey: `${namespace}:weights`,
    registryVersionKey: `${namespace}:workers:version`,
    registryChangesKey: `${namespace}:workers:changes`,
    heartbeatDeadlinesKey: `${namespace}:workers:deadlines`,
    heartbeatKey: (id) => `${namespace}:hb:${checked('worker id', id)}`,
    workerStatsKey: (id) => `${namespace}:wstats:${checked('worker id', id)}`,
    dispatcherStatsKey: (id) => `${namespace}:dstats:${checked('dispatcher id', id)}`,
    dispatcherStatsIndexKey: `${namespace}:dstats`,
    parkedKey: (id) => `${namespace}:parked:${checked('dispatcher id', id)}`,
    claimKey: (id) => `${namespace}:claim:${checked('worker id', id)}`,
    taskKey: (id) => `${namespace}:task:${checked('task id', id)}`,
    taskKeyPrefix: `${namespace}:task:`,
    backlogKey: `${namespace}:backlog`,
    delayedKey: `${namespace}:delayed`,
    activeKey: (id) => `${namespace}:active:${checked('dispatcher id', id)}`,
    dispatchersKey: `${namespace}:dispatchers`,
    dispatcherHeartbeatKey: (id) => `${namespace}:dhb:${checked('dispatcher id', id)}`,
    settledChannel: `${namespace}:settled`,
    cancelChannel: `${namespace}:cancel`,
  };
}
