import { ErrorCode, RingcastError } from './errors.js';
import { isValidId } from './message-fields.js';

/** Namespace used when none is given. */
export const DEFAULT_NAMESPACE = 'ringcast';
const NAMESPACE_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Every Redis channel and key ringcast uses, under one namespace prefix. Nothing
 * outside this module spells a name by hand, so the two sides cannot drift.
 */
export interface Names {
  readonly namespace: string;
  /**
   * Whether these are Redis Cluster names (see {@link NamesOptions}): channels are
   * then sharded (SPUBLISH/SSUBSCRIBE) and every name carries a hash tag.
   */
  readonly cluster: boolean;
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

export interface NamesOptions {
  /**
   * Redis Cluster names. Each name carries a hash tag, so that what must meet in
   * one Lua script or MULTI lands in one slot:
   * - tag = the id: a worker's channel and claim key (the claim script counts the
   *   channel's subscribers, so it runs where the channel lives), a dispatcher's
   *   reply channel and parked-replies key (a worker parks where it published);
   * - tag = the namespace: everything else (registry, weights, heartbeats, stats,
   *   the control channel, every durable key and channel), since those take part
   *   in namespace-wide atomic steps (the registry prune reads heartbeats; a
   *   durable settlement spans a record, the backlog and the active sets).
   * The per-task traffic (tasks, replies) is on the id channels and so spreads
   * across shards; the namespace slot lives on one shard. Every name still starts
   * with `<namespace>:`, so ACL patterns `~<ns>:*` and `&<ns>:*` still match.
   * Standalone names (the default) carry no tag and are unchanged.
   * @defaultValue false
   */
  cluster?: boolean;
}

export function names(namespace: string = DEFAULT_NAMESPACE, options: NamesOptions = {}): Names {
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
  if (options.cluster === true) return clusterNames(namespace, checked);
  return {
    namespace,
    cluster: false,
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

/** {@link NamesOptions.cluster}: ids and namespaces hold no `{` or `}`, so each tag is exactly what it wraps. */
function clusterNames(namespace: string, checked: (what: string, id: string) => string): Names {
  // In the namespace's slot: `<ns>:{<ns>}:…`.
  const shared = `${namespace}:{${namespace}}`;
  return {
    namespace,
    cluster: true,
    workerChannel: (id) => `${namespace}:w:{${checked('worker id', id)}}`,
    replyChannel: (id) => `${namespace}:d:{${checked('dispatcher id', id)}}`,
    controlChannel: `${shared}:ctl`,
    registryKey: `${shared}:workers`,
    registryVersionKey: `${shared}:workers:version`,
    registryChangesKey: `${shared}:workers:changes`,
    heartbeatDeadlinesKey: `${shared}:workers:deadlines`,
    weightsKey: `${shared}:weights`,
    heartbeatKey: (id) => `${shared}:hb:${checked('worker id', id)}`,
    workerStatsKey: (id) => `${shared}:wstats:${checked('worker id', id)}`,
    dispatcherStatsKey: (id) => `${shared}:dstats:${checked('dispatcher id', id)}`,
    dispatcherStatsIndexKey: `${shared}:dstats`,
    parkedKey: (id) => `${namespace}:parked:{${checked('dispatcher id', id)}}`,
    claimKey: (id) => `${namespace}:claim:{${checked('worker id', id)}}`,
    taskKey: (id) => `${shared}:task:${checked('task id', id)}`,
    taskKeyPrefix: `${shared}:task:`,
    backlogKey: `${shared}:backlog`,
    delayedKey: `${shared}:delayed`,
    activeKey: (id) => `${shared}:active:${checked('dispatcher id', id)}`,
    dispatchersKey: `${shared}:dispatchers`,
    dispatcherHeartbeatKey: (id) => `${shared}:dhb:${checked('dispatcher id', id)}`,
    settledChannel: `${shared}:settled`,
    cancelChannel: `${shared}:cancel`,
  };
}
