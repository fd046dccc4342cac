import {
  type AuthOptions,
  checkInteger,
  checkRedis,
  checkTimer,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_NAMESPACE,
  describeValue,
  ErrorCode,
  isValidId,
  isValidNamespace,
  type Keyring,
  type Logger,
  MAX_MESSAGE_BYTES,
  MIN_MESSAGE_BYTES,
  parseAuthOptions,
  parseLogger,
  REPORT_INTERVAL_MS,
  RingcastError,
} from '@ringcast/protocol';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { nanoid } from 'nanoid';
import { STRATEGY_NAMES, type StrategyName } from './strategy.js';

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_ACK_TIMEOUT_MS = 5_000;
export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_MAX_QUEUED = 10_000;
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
export const DEFAULT_RECONCILE_INTERVAL_MS = 1_000;
/**
 * How often, on average, the whole registry is re-read: the safety net under the
 * change log (registry-watch.ts). Rare enough that its cost, O(workers), amortises.
 */
export const DEFAULT_FULL_RECONCILE_INTERVAL_MS = 30_000;
/**
 * Longer than a worker's default drain (10 s) plus the second it gives aborted
 * handlers: a result that arrives within it is never run a second time elsewhere.
 */
export const DEFAULT_LEAVE_GRACE_MS = 15_000;
export const DEFAULT_RETRY_BACKOFF_MS = 100;
export const DEFAULT_MAX_RETRY_BACKOFF_MS = 5_000;
/** How often a dispatcher refreshes its presence as an owner of durable tasks; its heartbeat lives 3× as long. */
export const DEFAULT_OWNER_HEARTBEAT_MS = 1_000;
/** Bounds of `ownerHeartbeatMs`: below, Redis would be beaten for nothing; above, a dead owner's tasks wait too long. */
export const MIN_OWNER_HEARTBEAT_MS = 50;
export const MAX_OWNER_HEARTBEAT_MS = 60_000;
/**
 * How long a dispatcher's stats report outlives its last write. An idle
 * dispatcher writes none, so this is how long tools still see its figures
 * after its last call settled: the dashboard's chart span.
 */
export const DEFAULT_STATS_TTL_MS = 15 * 60_000;
/** The shortest `statsTtlMs`: three report intervals, so that a busy dispatcher's key never lapses. */
export const MIN_STATS_TTL_MS = 3 * REPORT_INTERVAL_MS;
export const DEFAULT_STRATEGY: StrategyName = 'weighted-round-robin';
/**
 * ε of `consistent-hash`'s bounded loads: no worker holds more than 1.25 × its
 * fair share of the dispatcher's attempts in flight. The paper's analysis
 * moves O(1/ε²) keys per change of load; 0.25 keeps hot keys from swamping a
 * worker while most keys still stay on their first choice.
 */
export const DEFAULT_HASH_LOAD_EPSILON = 0.25;
/** The largest `hashLoadEpsilon`: beyond it the bound would almost never act. */
export const MAX_HASH_LOAD_EPSILON = 100;

/** A Redis Cluster as the `redis` option: startup nodes plus ioredis ClusterOptions. */
export type ClusterTarget = ClusterOptions & { cluster: Array<{ host: string; port: number }> };

/** Where log lines go. `false` silences them. */
export type { Logger };

/**
 * Options of `createDispatcher`. Every delay and interval (`…Ms`) is an
 * integer of at most 2147483647 (2³¹−1, the longest delay Node's timers honour).
 */
export interface DispatcherOptions {
  /**
   * Redis to use: a `redis://` or `rediss://` URL, ioredis options, or a connected
   * ioredis client. The subscriber connection is made with `duplicate()`. A client
   * you pass in is never closed by the dispatcher. Options or a client with a
   * `keyPrefix` are refused (`INVALID_OPTIONS`): use `namespace` instead.
   *
   * Redis Cluster: an ioredis `Cluster`, or `{ cluster: [{ host, port }, …], …ClusterOptions }`
   * (e.g. `redisOptions` for a password or TLS). Channels are then sharded
   * (SSUBSCRIBE/SPUBLISH) and names hash-tagged (protocol's `names(ns, { cluster: true })`);
   * every dispatcher and worker of a deployment must be on the cluster.
   * @defaultValue `'redis://127.0.0.1:6379'`
   */
  redis?: string | RedisOptions | Redis | Cluster | ClusterTarget;
  /** Prefix of every channel and key; must match the workers'. @defaultValue `'ringcast'` */
  namespace?: string;
  /** This dispatcher's id; its reply channel is derived from it. @defaultValue a random id */
  id?: string;
  /** Time a task may take from `dispatch()` to settlement. @defaultValue 30000 */
  timeoutMs?: number;
  /** Time a worker has to acknowledge an attempt before it goes elsewhere. @defaultValue 5000 */
  ackTimeoutMs?: number;
  /**
   * Attempts of a task that may run without a retry paying for them: the first,
   * and each new one after an attempt was lost (no ack, its worker died or left
   * without finishing). Attempts that provably reached no handler do not count;
   * each of a task's `retries` allows one more run. So a handler runs at most
   * `maxAttempts + retries` times for one task.
   * @defaultValue 3
   */
  maxAttempts?: number;
  /** Tasks that may wait locally for a free worker; beyond it `QUEUE_FULL`. @defaultValue 10000 */
  maxQueued?: number;
  /** Largest encoded frame, 4096 to 536870912; bigger tasks reject with `PAYLOAD_TOO_LARGE`. @defaultValue 1048576 */
  maxMessageBytes?: number;
  /** How long `close()` waits for in-flight tasks before rejecting them `CLOSED`. @defaultValue 10000 */
  drainTimeoutMs?: number;
  /**
   * How often the registry's change log and the workers' heartbeat deadlines are
   * checked: what changed, joined or lapsed since (a cost that grows with changes,
   * not with workers). @defaultValue 1000
   */
  reconcileIntervalMs?: number;
  /**
   * How often, on average, the whole registry and every heartbeat are re-read,
   * the safety net for a change the log missed; spread over ±25 % so that
   * dispatchers do not read together. At least `reconcileIntervalMs`. @defaultValue 30000
   */
  fullReconcileIntervalMs?: number;
  /** How long a worker that announced leave may finish acknowledged attempts; keep it a second longer than the workers' `drainTimeoutMs`. @defaultValue 15000 */
  leaveGraceMs?: number;
  /** First delay before retrying a retryable handler error; doubles, with jitter. @defaultValue 100 */
  retryBackoffMs?: number;
  /** Longest retry delay; given with `retryBackoffMs`, at least that. @defaultValue 5000 */
  maxRetryBackoffMs?: number;
  /**
   * Where log lines go; `false` for none. A pino (or bunyan) logger is taken as
   * it is and called with `(fields, message)`: fields such as `{ dispatcher, worker, task,
   * handler, attempt, code }` where the line has them; any other logger with
   * the message alone. Lines and fields never carry credentials.
   * @defaultValue console
   */
  logger?: Logger | false;
  /**
   * Keeps Prometheus metrics in a prom-client registry of this dispatcher's own
   * (`dispatcher.metrics()`). Off, metrics cost nothing.
   * @defaultValue false
   */
  metrics?: boolean;
  /**
   * Lifetime of this dispatcher's stats report in Redis (`<ns>:dstats:<id>`:
   * per handler, outcomes and end-to-end latency, for `ringcast stats` and the
   * dashboard), from its last write. It is written about once a second while
   * calls settle and not at all while none do; `close()` deletes it. At least 3000.
   * @defaultValue 900000 (15 minutes)
   */
  statsTtlMs?: number;
  /**
   * How a worker is picked for each attempt: `'weighted-round-robin'` (exact
   * shares per cycle), `'round-robin'`, `'random'` (weighted), `'least-inflight'`,
   * `'power-of-two'`, `'consistent-hash'` (by the task's `key`, with bounded
   * loads) or `'latency'` (weights scaled by observed round trips). Every one
   * skips workers that are full, suspected, draining, blocked, lack the handler
   * or are too small for the task. See the README for when to choose which.
   * @defaultValue `'weighted-round-robin'`
   */
  strategy?: StrategyName;
  /**
   * `consistent-hash` only: ε of its bounded loads. A worker holding more than
   * ⌈(1 + ε) × its weighted fair share⌉ of this dispatcher's attempts in flight
   * passes a key on to the next worker on the ring. A number above 0 and up to
   * 100; `false` turns the bound off (plain consistent hashing).
   * @defaultValue 0.25
   */
  hashLoadEpsilon?: number | false;
  /**
   * Durable tasks: how often this dispatcher refreshes its presence as their
   * owner (50 to 60000); its heartbeat key lives 3× as long.
   * @defaultValue 1000
   */
  ownerHeartbeatMs?: number;
  /**
   * Durable tasks: most that may wait in Redis, waiting and delayed together
   * (a non-negative integer); beyond it `submit()` rejects `QUEUE_FULL`.
   * @defaultValue no bound
   */
  maxBacklog?: number;
  /**
   * Frame authentication: `{ keys: { k1: '<secret>', … }, current: 'k1' }`, the
   * same keyring on every dispatcher, worker and operator tool of the
   * deployment. Every frame sent is signed with the `current` key (HMAC-SHA256
   * over its channel, a timestamp and its body) and every frame heard must be
   * signed with a key of the ring, for its channel, within `maxSkewMs`, and not
   * seen before; anything else is dropped before it is parsed and counted in
   * `stats().auth`. `encrypt: true` also encrypts every frame's body
   * (AES-256-GCM). Rotate keys with `dispatcher.setAuth()`. Secrets never
   * appear in errors, logs or stats.
   * @defaultValue none: frames are neither signed nor checked
   */
  auth?: AuthOptions;
}

export interface ResolvedOptions {
  redis: string | RedisOptions | Redis | Cluster | ClusterTarget;
  namespace: string;
  id: string;
  timeoutMs: number;
  ackTimeoutMs: number;
  maxAttempts: number;
  maxQueued: number;
  maxMessageBytes: number;
  drainTimeoutMs: number;
  reconcileIntervalMs: number;
  fullReconcileIntervalMs: number;
  leaveGraceMs: number;
  retryBackoffMs: number;
  maxRetryBackoffMs: number;
  logger: Logger;
  strategy: StrategyName;
  /** `Infinity` when the bound is off. */
  hashLoadEpsilon: number;
  ownerHeartbeatMs: number;
  /** Undefined: no bound. */
  maxBacklog: number | undefined;
  metrics: boolean;
  statsTtlMs: number;
  /** Undefined: frame authentication off. */
  auth: Keyring | undefined;
}

export function defaultOptions(): ResolvedOptions {
  return {
    redis: 'redis://127.0.0.1:6379',
    namespace: DEFAULT_NAMESPACE,
    id: `d-${nanoid(12).replace(/[^A-Za-z0-9_-]/g, '_')}`,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    ackTimeoutMs: DEFAULT_ACK_TIMEOUT_MS,
    maxAttempts: DEFAULT_MAX_ATTEMPTS,
    maxQueued: DEFAULT_MAX_QUEUED,
    maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
    drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS,
    reconcileIntervalMs: DEFAULT_RECONCILE_INTERVAL_MS,
    fullReconcileIntervalMs: DEFAULT_FULL_RECONCILE_INTERVAL_MS,
    leaveGraceMs: DEFAULT_LEAVE_GRACE_MS,
    retryBackoffMs: DEFAULT_RETRY_BACKOFF_MS,
    maxRetryBackoffMs: DEFAULT_MAX_RETRY_BACKOFF_MS,
    logger: console,
    strategy: DEFAULT_STRATEGY,
    hashLoadEpsilon: DEFAULT_HASH_LOAD_EPSILON,
    ownerHeartbeatMs: DEFAULT_OWNER_HEARTBEAT_MS,
    maxBacklog: undefined,
    metrics: false,
    statsTtlMs: DEFAULT_STATS_TTL_MS,
    auth: undefined,
  };
}

function invalid(message: string): never {
  throw new RingcastError(ErrorCode.INVALID_OPTIONS, `invalid dispatcher options: ${message}`);
}

/** Validates options and fills in defaults; throws `INVALID_OPTIONS` on any bad value. */
export function parseOptions(options: DispatcherOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) invalid('options must be an object');
  const out = defaultOptions();
  const o = options as Record<string, unknown>;
  const known = new Set(Object.keys(out));
  for (const key of Object.keys(o)) {
    if (!known.has(key)) invalid(`unknown option "${key}"`);
  }
  if (o['redis'] !== undefined) out.redis = checkRedis(invalid, o['redis']);
  if (o['namespace'] !== undefined) {
    if (!isValidNamespace(o['namespace']))
      invalid(
        `namespace must be 1 to 64 characters of letters, digits, "_", ".", ":" and "-", got ${describeValue(o['namespace'])}`,
      );
    out.namespace = o['namespace'];
  }
  if (o['id'] !== undefined) {
    if (!isValidId(o['id']))
      invalid(`id ${JSON.stringify(o['id'])} must match [A-Za-z0-9_.-]{1,128}`);
    out.id = o['id'];
  }
  const counts = [
    ['maxAttempts', 1],
    ['maxQueued', 0],
  ] as const;
  for (const [name, min] of counts) {
    if (o[name] !== undefined) out[name] = checkInteger(invalid, name, o[name], min);
  }
  if (o['maxMessageBytes'] !== undefined) {
    out.maxMessageBytes = checkInteger(
      invalid,
      'maxMessageBytes',
      o['maxMessageBytes'],
      MIN_MESSAGE_BYTES,
      MAX_MESSAGE_BYTES,
    );
  }
  const timers = [
    ['timeoutMs', 1],
    ['ackTimeoutMs', 1],
    ['drainTimeoutMs', 0],
    ['reconcileIntervalMs', 10],
    ['fullReconcileIntervalMs', 10],
    ['leaveGraceMs', 0],
    ['retryBackoffMs', 0],
    ['maxRetryBackoffMs', 0],
    ['statsTtlMs', MIN_STATS_TTL_MS],
  ] as const;
  for (const [name, min] of timers) {
    if (o[name] !== undefined) out[name] = checkTimer(invalid, name, o[name], min);
  }
  // Given together, the bounds must agree. One alone keeps its meaning as ever:
  // the longest delay caps the first (so `maxRetryBackoffMs: 0` retries at once).
  if (
    o['retryBackoffMs'] !== undefined &&
    o['maxRetryBackoffMs'] !== undefined &&
    out.retryBackoffMs > out.maxRetryBackoffMs
  ) {
    invalid(
      `retryBackoffMs (${out.retryBackoffMs}) must be at most ` +
        `maxRetryBackoffMs (${out.maxRetryBackoffMs})`,
    );
  }
  if (out.fullReconcileIntervalMs < out.reconcileIntervalMs) {
    if (o['fullReconcileIntervalMs'] !== undefined) {
      invalid(
        `fullReconcileIntervalMs (${out.fullReconcileIntervalMs}) must be at least ` +
          `reconcileIntervalMs (${out.reconcileIntervalMs})`,
      );
    }
    // Only the tick's interval was given, longer than the default net: the net follows it.
    out.fullReconcileIntervalMs = out.reconcileIntervalMs;
  }
  if (o['ownerHeartbeatMs'] !== undefined) {
    out.ownerHeartbeatMs = checkInteger(
      invalid,
      'ownerHeartbeatMs',
      o['ownerHeartbeatMs'],
      MIN_OWNER_HEARTBEAT_MS,
      MAX_OWNER_HEARTBEAT_MS,
    );
  }
  if (o['maxBacklog'] !== undefined) {
    out.maxBacklog = checkInteger(invalid, 'maxBacklog', o['maxBacklog'], 0);
  }
  if (o['auth'] !== undefined) out.auth = parseAuthOptions(o['auth'], invalid);
  out.logger = parseLogger(o['logger'], out.logger, invalid);
  if (o['metrics'] !== undefined) {
    if (typeof o['metrics'] !== 'boolean') {
      invalid(`metrics must be a boolean, got ${describeValue(o['metrics'])}`);
    }
    out.metrics = o['metrics'];
  }
  if (o['strategy'] !== undefined) out.strategy = parseStrategy(o['strategy']);
  const epsilon = o['hashLoadEpsilon'];
  if (epsilon === false) out.hashLoadEpsilon = Number.POSITIVE_INFINITY;
  else if (epsilon !== undefined) {
    if (
      typeof epsilon !== 'number' ||
      !Number.isFinite(epsilon) ||
      epsilon <= 0 ||
      epsilon > MAX_HASH_LOAD_EPSILON
    ) {
      invalid(
        `hashLoadEpsilon must be a number above 0 and up to ${MAX_HASH_LOAD_EPSILON}, or false; got ${describeValue(epsilon)}`,
      );
    }
    out.hashLoadEpsilon = epsilon;
  }
  return out;
}

function parseStrategy(value: unknown): StrategyName {
  if (typeof value === 'string' && (STRATEGY_NAMES as readonly string[]).includes(value)) {
    return value as StrategyName;
  }
  return invalid(
    `strategy ${describeValue(value)} is not one of ${STRATEGY_NAMES.map((s) => `'${s}'`).join(', ')}`,
  );
}
