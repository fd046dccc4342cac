import { hostname } from 'node:os';
import {
  type AuthOptions,
  checkInteger,
  checkRedis,
  checkTimer,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_NAMESPACE,
  DEFAULT_REDIS_URL,
  describeValue as describe,
  ErrorCode,
  type FieldLogger,
  ID_PATTERN,
  isValidId,
  isValidNamespace,
  type Keyring,
  type Logger,
  MAX_MESSAGE_BYTES,
  MIN_MESSAGE_BYTES,
  parseAuthOptions,
  parseLogger,
  textLogger,
  withFields,
  withPrefix,
} from '@ringcast/protocol';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { nanoid } from 'nanoid';
import { WorkerError } from './errors.js';

export const DEFAULT_CONCURRENCY = 16;
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1_000;
export const DEFAULT_HEARTBEAT_TTL_MS = 3_000;
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
export const DEFAULT_PARK_TTL_MS = 60_000;
export const DEFAULT_MAX_PARKED = 10_000;
export { DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_NAMESPACE, DEFAULT_REDIS_URL, MIN_MESSAGE_BYTES };

const MAX_INT = 1_000_000;
const MAX_HANDLERS = 1_024;
const MAX_HANDLER_NAME = 128;

/** What a handler receives besides its payload. */
export interface HandlerContext {
  /** The task's id; the same for every attempt of one task. */
  readonly taskId: string;
  /** 1 for the first attempt; higher when an earlier attempt was suspected lost. */
  readonly attempt: number;
  /** Epoch milliseconds after which the caller no longer waits; `signal` aborts then. */
  readonly deadline: number;
  /** Aborts on cancel (reason `CANCELLED`), at the deadline (`TIMEOUT`) and on forced shutdown (`CLOSED`). */
  readonly signal: AbortSignal;
  /** Id of the worker running the handler. */
  readonly workerId: string;
}

/**
 * A task handler. Its return value (or resolved value) is the task's result and
 * must be JSON-serialisable; a throw or rejection becomes an error result.
 *
 * Declared as a method so handlers may narrow `payload` to the type they expect
 * (the worker only guarantees it is decoded JSON without forbidden keys).
 */
export type Handler = {
  bivarianceHack(payload: unknown, ctx: HandlerContext): unknown;
}['bivarianceHack'];

/** A Redis Cluster as the `redis` option: startup nodes plus ioredis ClusterOptions. */
export type ClusterTarget = ClusterOptions & { cluster: Array<{ host: string; port: number }> };

/** Where log lines go: a message-only logger (console), or pino, whose methods take a message too. */
export type { Logger };

export interface WorkerOptions {
  /**
   * Redis to use: a `redis://` or `rediss://` URL, ioredis options, or an ioredis
   * client. The subscriber connection is made with `duplicate()`. A client you
   * pass in is never closed by the worker. Options or a client with a `keyPrefix`
   * are refused (`INVALID_OPTIONS`): use `namespace` instead.
   *
   * Redis Cluster: an ioredis `Cluster`, or `{ cluster: [{ host, port }, …], …ClusterOptions }`
   * (e.g. `redisOptions` for a password or TLS). Channels are then sharded
   * (SSUBSCRIBE/SPUBLISH) and names hash-tagged (protocol's `names(ns, { cluster: true })`);
   * every dispatcher and worker of a deployment must be on the cluster.
   * @defaultValue `'redis://127.0.0.1:6379'`
   */
  redis?: string | RedisOptions | Redis | Cluster | ClusterTarget;
  /** Prefix of every channel and key; must match the dispatchers'. @defaultValue `'ringcast'` */
  namespace?: string;
  /**
   * This worker's id, unique in the namespace; its task channel is derived from it.
   * Must match `/^[A-Za-z0-9_.-]{1,128}$/`.
   * @defaultValue `` `${hostname}-${pid}-${random6}` `` (sanitised)
   */
  id?: string;
  /** Handlers by task name. At least one; names of 1 to 128 characters. */
  handlers: Readonly<Record<string, Handler>>;
  /** Handlers that may run at once. @defaultValue 16 */
  concurrency?: number;
  /** Share of tasks this worker gets from the ring, relative to other workers. @defaultValue `concurrency` */
  weight?: number;
  /** Tasks that may wait for a free slot beyond `concurrency`; beyond that the worker nacks `BUSY`. @defaultValue `concurrency` */
  maxQueue?: number;
  /** How often the heartbeat key and registry entry are refreshed. @defaultValue 1000 */
  heartbeatIntervalMs?: number;
  /** Lifetime of the heartbeat key; dispatchers count the worker dead once it lapses. Must exceed `heartbeatIntervalMs`. @defaultValue 3000 */
  heartbeatTtlMs?: number;
  /** How long `close()` lets running handlers finish before it aborts them. @defaultValue 10000 */
  drainTimeoutMs?: number;
  /** Largest frame accepted or sent, in bytes. At least 4096. @defaultValue 1048576 */
  maxMessageBytes?: number;
  /** Lifetime of the list holding replies nobody was subscribed to receive. @defaultValue 60000 */
  parkTtlMs?: number;
  /** Most frames kept per dispatcher in that list; older ones are trimmed. @defaultValue 10000 */
  maxParked?: number;
  /**
   * Where log lines go; `false` for none. A pino (or bunyan) logger is taken as
   * it is and called with `(fields, message)`: fields such as `{ worker, task, handler, attempt,
   * code }` where the line has them; any other logger with the message alone.
   * Lines and fields never carry credentials.
   * @defaultValue console
   */
  logger?: Logger | false;
  /**
   * Keeps Prometheus metrics in a prom-client registry of this worker's own
   * (`worker.metrics()`). Off, metrics cost nothing.
   * @defaultValue false
   */
  metrics?: boolean;
  /**
   * Frame authentication: `{ keys: { k1: '<secret>', … }, current: 'k1' }`, the
   * same keyring on every dispatcher, worker and operator tool of the
   * deployment. Every frame the worker sends is signed with the `current` key
   * (HMAC-SHA256 over its channel, a timestamp and its body); every frame it
   * hears must be signed with a key of the ring, for its channel, within
   * `maxSkewMs`, and not seen before, or it is dropped before it is parsed and
   * counted in `stats().auth`: no handler runs for it. `encrypt: true` also
   * encrypts every frame's body (AES-256-GCM). Rotate keys with
   * `worker.setAuth()` (the CLI: SIGHUP re-reads `--auth-keys-file`). Secrets
   * never appear in errors, logs or stats.
   * @defaultValue none: frames are neither signed nor checked
   */
  auth?: AuthOptions;
}

export interface ResolvedOptions {
  redis: string | RedisOptions | Redis | Cluster | ClusterTarget;
  namespace: string;
  id: string;
  handlers: Map<string, Handler>;
  concurrency: number;
  weight: number;
  maxQueue: number;
  heartbeatIntervalMs: number;
  heartbeatTtlMs: number;
  drainTimeoutMs: number;
  maxMessageBytes: number;
  parkTtlMs: number;
  maxParked: number;
  /**
   * The `logger` option as ringcast calls it: every line starts `worker <id>: `
   * and has the worker's id as `worker`, so no part of the worker names it itself.
   */
  logger: FieldLogger;
  metrics: boolean;
  /** Undefined: frame authentication off. */
  auth: Keyring | undefined;
}

const consoleLogger: FieldLogger = textLogger('ringcast-worker');

/** A readable id that is unique in practice: host, pid and a random suffix. */
export function defaultWorkerId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9_.-]/g, '-')
      .slice(0, 96) || 'worker';
  const id = `${host}-${process.pid}-${nanoid(6)}`;
  return ID_PATTERN.test(id) ? id : `worker-${nanoid(12)}`;
}

/** Every option with its default filled in, except `handlers`, which has none. */
export function defaultOptions(): Omit<ResolvedOptions, 'handlers'> {
  return {
    redis: DEFAULT_REDIS_URL,
    namespace: DEFAULT_NAMESPACE,
    id: defaultWorkerId(),
    concurrency: DEFAULT_CONCURRENCY,
    weight: DEFAULT_CONCURRENCY,
    maxQueue: DEFAULT_CONCURRENCY,
    heartbeatIntervalMs: DEFAULT_HEARTBEAT_INTERVAL_MS,
    heartbeatTtlMs: DEFAULT_HEARTBEAT_TTL_MS,
    drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS,
    maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
    parkTtlMs: DEFAULT_PARK_TTL_MS,
    maxParked: DEFAULT_MAX_PARKED,
    logger: consoleLogger,
    metrics: false,
    auth: undefined,
  };
}

const KNOWN = new Set([
  'redis',
  'namespace',
  'id',
  'handlers',
  'concurrency',
  'weight',
  'maxQueue',
  'heartbeatIntervalMs',
  'heartbeatTtlMs',
  'drainTimeoutMs',
  'maxMessageBytes',
  'parkTtlMs',
  'maxParked',
  'logger',
  'metrics',
  'auth',
]);

function invalid(message: string): never {
  throw new WorkerError(ErrorCode.INVALID_OPTIONS, `invalid worker options: ${message}`);
}

function integer(
  o: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const v = o[key];
  return v === undefined ? fallback : checkInteger(invalid, key, v, min, max);
}

function timer(o: Record<string, unknown>, key: string, min: number, fallback: number): number {
  const v = o[key];
  return v === undefined ? fallback : checkTimer(invalid, key, v, min);
}

function parseHandlers(value: unknown): Map<string, Handler> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    invalid(`handlers must be an object mapping names to functions, got ${describe(value)}`);
  }
  const map = new Map<string, Handler>();
  for (const [name, fn] of Object.entries(value)) {
    if (name.length === 0 || name.length > MAX_HANDLER_NAME) {
      invalid(`handler names must have 1 to ${MAX_HANDLER_NAME} characters, got ${describe(name)}`);
    }
    if (typeof fn !== 'function') invalid(`handler ${JSON.stringify(name)} is not a function`);
    map.set(name, fn as Handler);
  }
  if (map.size === 0) invalid('handlers must register at least one handler');
  if (map.size > MAX_HANDLERS) invalid(`at most ${MAX_HANDLERS} handlers may be registered`);
  return map;
}

/** Validates options and fills in defaults. Throws {@link WorkerError} with `INVALID_OPTIONS`. */
export function parseOptions(options: WorkerOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    invalid(`expected an options object, got ${describe(options)}`);
  }
  const o = options as unknown as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) invalid(`unknown option ${JSON.stringify(key)}`);
  }
  const d = defaultOptions();

  const redis =
    o['redis'] === undefined ? d.redis : checkRedis<ResolvedOptions['redis']>(invalid, o['redis']);

  const namespace = o['namespace'] ?? d.namespace;
  if (!isValidNamespace(namespace)) {
    invalid(`namespace must match /^[A-Za-z0-9_.:-]{1,64}$/, got ${describe(namespace)}`);
  }
  const id = o['id'] ?? d.id;
  if (!isValidId(id)) invalid(`id must match ${ID_PATTERN}, got ${describe(id)}`);

  const handlers = parseHandlers(o['handlers']);
  const concurrency = integer(o, 'concurrency', 1, MAX_INT, d.concurrency);
  const weight = integer(o, 'weight', 1, MAX_INT, concurrency);
  const maxQueue = integer(o, 'maxQueue', 0, MAX_INT, concurrency);
  const heartbeatIntervalMs = timer(o, 'heartbeatIntervalMs', 10, d.heartbeatIntervalMs);
  const heartbeatTtlMs = timer(o, 'heartbeatTtlMs', 20, d.heartbeatTtlMs);
  if (heartbeatTtlMs <= heartbeatIntervalMs) {
    invalid(
      `heartbeatTtlMs (${heartbeatTtlMs}) must exceed heartbeatIntervalMs (${heartbeatIntervalMs})`,
    );
  }
  const drainTimeoutMs = timer(o, 'drainTimeoutMs', 0, d.drainTimeoutMs);
  const maxMessageBytes = integer(
    o,
    'maxMessageBytes',
    MIN_MESSAGE_BYTES,
    MAX_MESSAGE_BYTES,
    d.maxMessageBytes,
  );
  const parkTtlMs = timer(o, 'parkTtlMs', 1, d.parkTtlMs);
  const maxParked = integer(o, 'maxParked', 1, MAX_INT, d.maxParked);
  const logger = withPrefix(
    withFields(parseLogger(o['logger'], consoleLogger, invalid), { worker: id }),
    `worker ${id}: `,
  );
  const metrics = o['metrics'] ?? false;
  if (typeof metrics !== 'boolean') invalid(`metrics must be a boolean, got ${describe(metrics)}`);
  const auth = o['auth'] === undefined ? undefined : parseAuthOptions(o['auth'], invalid);

  return {
    redis,
    namespace,
    id,
    handlers,
    concurrency,
    weight,
    maxQueue,
    heartbeatIntervalMs,
    heartbeatTtlMs,
    drainTimeoutMs,
    maxMessageBytes,
    parkTtlMs,
    maxParked,
    logger,
    metrics,
    auth,
  };
}
