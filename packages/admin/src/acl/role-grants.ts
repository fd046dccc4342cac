/**
 * Every Redis command, key and channel each ringcast role uses: the one list
 * `ringcast acl` turns into `ACL SETUSER` rules, and that the docs and tests
 * read. Each grant says which code needs it. Commands that a Lua script runs
 * are listed too: Redis checks a script's `redis.call`s against the caller's
 * ACL like any other command, and any key a script is given in KEYS needs read
 * and write access (EVAL's key spec says so).
 *
 * Kept honest by test/security/acl.test.ts, which runs dispatchers, CLI
 * workers and the admin CLI under these users on a Redis whose ACL LOG must
 * stay empty: a command, key or channel the code uses but this list lacks
 * fails it. When code starts using a new command or name, add it here.
 */
import type { Names } from '@ringcast/protocol';

export const ROLES = ['worker', 'dispatcher', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** What a key grant allows (Redis 7 key permissions: `%R~`, `%W~`, `~`). */
export type KeyAccess = 'read' | 'write' | 'read-write';

/**
 * Names a key or channel: a fixed name, or a per-id one, which is the role's
 * own id's name when the role was given `--id` and the one of every id else.
 */
export type NameOf = (n: Names) => string | PerId;

/** A per-id name; `own`: this role's own id (a worker's channel), not another's. */
export interface PerId {
  readonly name: (id: string) => string;
  readonly own: boolean;
}

/** What every grant says beside what it grants. */
interface Grant {
  readonly why: string;
  /** Only for an operator's changes (reweight, drain): left out of a read-only admin user. */
  readonly operator?: true;
  /**
   * Only on a Redis Cluster (true: sharded pub/sub, the slot map) or only on a
   * standalone Redis (false: classic pub/sub); both when absent.
   */
  readonly cluster?: boolean;
}

export interface KeyGrant extends Grant {
  readonly key: NameOf;
  readonly access: KeyAccess;
}

export interface ChannelGrant extends Grant {
  readonly channel: NameOf;
}

export interface CommandGrant extends Grant {
  /** As ACL names it: `hset`, `client|setname`. */
  readonly command: string;
}

export interface RoleGrants {
  readonly summary: string;
  /** Whether `--id` narrows it (its own channel and keys). */
  readonly takesId: boolean;
  readonly commands: readonly CommandGrant[];
  readonly keys: readonly KeyGrant[];
  readonly channels: readonly ChannelGrant[];
}

const own = (name: (id: string) => string): PerId => ({ name, own: true });
const anyId = (name: (id: string) => string): PerId => ({ name, own: false });

/**
 * What every connection ringcast opens sends besides its own work. AUTH, HELLO
 * and QUIT need no grant: Redis lets every user run them.
 */
const CONNECTION: readonly CommandGrant[] = [
  {
    command: 'client|setname',
    why: 'every connection names itself (CLIENT LIST shows whose it is)',
  },
  { command: 'info', why: "ioredis's ready check on connect (waits out a Redis still loading)" },
  { command: 'select', why: 'a database index in the Redis URL', cluster: false },
  {
    command: 'cluster|slots',
    why: "ioredis's Cluster reads the slot map (at connect, on MOVED, every second)",
    cluster: true,
  },
  { command: 'cluster|info', why: "ioredis's Cluster ready check", cluster: true },
  {
    command: 'readonly',
    why: "ioredis's Cluster sends it on its connections to replicas (it reads nothing from them)",
    cluster: true,
  },
  {
    command: 'asking',
    why: 'a command sent on to the node a slot is migrating to (ASK)',
    cluster: true,
  },
];

const WORKER: RoleGrants = {
  summary: 'a ringcast-worker process or createWorker()',
  takesId: true,
  commands: [
    ...CONNECTION,
    { command: 'subscribe', why: 'its own channel (redis-transport.ts)', cluster: false },
    {
      command: 'unsubscribe',
      why: 'its own channel, on close (redis-transport.ts)',
      cluster: false,
    },
    {
      command: 'publish',
      why: 'replies (replies.ts), hello and leave (registration.ts), its recovery probe (recovery.ts)',
      cluster: false,
    },
    { command: 'ssubscribe', why: 'its own sharded channel (redis-transport.ts)', cluster: true },
    { command: 'sunsubscribe', why: 'its own sharded channel, on close', cluster: true },
    {
      command: 'spublish',
      why: 'replies, hello and leave, its recovery probe, on sharded channels',
      cluster: true,
    },
    {
      command: 'multi',
      why: 'each beat with its policy read (presence-state.ts), park (redis-transport.ts)',
    },
    { command: 'exec', why: 'the same transactions' },
    {
      command: 'hset',
      why: 'its registry entry, at register and when a beat finds it changed (beat script)',
    },
    { command: 'hdel', why: 'its registry entry, at leave (leave script)' },
    {
      command: 'hget',
      why: "its weight in the operator's policy, at start and with every beat; its entry (beat script)",
    },
    { command: 'set', why: 'its heartbeat and stats keys (with PX), its id claim (claim script)' },
    { command: 'del', why: 'its heartbeat, claim and stats keys, at leave' },
    {
      command: 'time',
      why: "the beat script dates its heartbeat deadline by Redis's clock (registry-log.ts)",
    },
    { command: 'zadd', why: 'its heartbeat deadline; the change log (beat and leave scripts)' },
    { command: 'zrem', why: 'its heartbeat deadline, at leave (leave script)' },
    {
      command: 'hlen',
      why: 'the leave script: with the last worker gone, the change log goes too',
    },
    { command: 'rpush', why: 'a reply no dispatcher heard, parked for it (park)' },
    { command: 'ltrim', why: 'the parked list kept bounded' },
    { command: 'pexpire', why: 'the parked list expiring; the id claim refreshed (scripts)' },
    {
      command: 'eval',
      why: 'each beat, register and leave (registry-log.ts); the id claim check and its refresh (Lua)',
    },
    {
      command: 'get',
      why: 'the claim scripts read who holds the id; the beat script its heartbeat',
    },
    {
      command: 'pubsub|numsub',
      why: "the claim script counts its channel's subscribers",
      cluster: false,
    },
    {
      command: 'pubsub|shardnumsub',
      why: "the claim script counts its sharded channel's subscribers",
      cluster: true,
    },
  ],
  keys: [
    {
      key: (n) => n.registryKey,
      access: 'read-write',
      why: 'its registry entry (beat script: HGET, HSET; leave script: HDEL)',
    },
    {
      key: (n) => n.registryVersionKey,
      access: 'read-write',
      why: "the change log's number (HGET, HSET in the beat and leave scripts; DEL with the last worker)",
    },
    {
      key: (n) => n.registryChangesKey,
      access: 'read-write',
      why: 'the change log: its change (ZADD; a script key needs both under ACL)',
    },
    {
      key: (n) => n.heartbeatDeadlinesKey,
      access: 'read-write',
      why: 'its heartbeat deadline (ZADD with every beat, ZREM at leave; a script key)',
    },
    { key: (n) => n.weightsKey, access: 'read', why: "the operator's weight for it (HGET)" },
    {
      key: (n) => own(n.heartbeatKey),
      access: 'read-write',
      why: 'its heartbeat (beat script: GET, SET PX; DEL)',
    },
    {
      key: (n) => own(n.claimKey),
      access: 'read-write',
      why: 'its id claim: a key of the claim scripts (EVAL)',
    },
    { key: (n) => own(n.workerStatsKey), access: 'write', why: 'its stats report (SET PX, DEL)' },
    {
      key: (n) => anyId(n.parkedKey),
      access: 'write',
      why: "any dispatcher's parked replies (RPUSH, PEXPIRE, LTRIM)",
    },
  ],
  channels: [
    {
      channel: (n) => own(n.workerChannel),
      why: 'its tasks, cancels and operator requests; its probe',
    },
    { channel: (n) => anyId(n.replyChannel), why: 'replies to any dispatcher (publish only)' },
    { channel: (n) => n.controlChannel, why: 'hello and leave (publish only)' },
  ],
};

const DISPATCHER: RoleGrants = {
  summary: 'an application process running createDispatcher()',
  takesId: true,
  commands: [
    ...CONNECTION,
    {
      command: 'subscribe',
      why: 'its reply channel, the control, settled and cancel channels (dispatcher.ts, recovery.ts)',
      cluster: false,
    },
    {
      command: 'publish',
      why: 'tasks and cancels to workers (delivery.ts), durable cancels (durable-tasks.ts)',
      cluster: false,
    },
    {
      command: 'ssubscribe',
      why: 'the same channels as subscribe, sharded (redis-transport.ts)',
      cluster: true,
    },
    {
      command: 'spublish',
      why: 'tasks, cancels and durable announcements on sharded channels (also in the store scripts)',
      cluster: true,
    },
    {
      command: 'hgetall',
      why: 'the worker registry (full reconcile); records in the store scripts',
    },
    {
      command: 'mget',
      why: "workers' heartbeats (reconcile, tick) and stats; dispatcher heartbeats (deadOwners)",
    },
    {
      command: 'time',
      why: "the tick script compares heartbeat deadlines with Redis's clock (registry-log.ts)",
    },
    {
      command: 'hlen',
      why: 'the tick script keeps the change log as small as the registry; the prune script',
    },
    { command: 'zrange', why: 'the tick script: the next heartbeat deadline; trimming the log' },
    { command: 'zremrangebyrank', why: 'the tick script trims the change log' },
    {
      command: 'pubsub|numsub',
      why: 'whether workers listen on their channels (liveness)',
      cluster: false,
    },
    {
      command: 'pubsub|shardnumsub',
      why: "whether workers listen on their sharded channels, counted on the slot's master (script)",
      cluster: true,
    },
    {
      command: 'eval',
      why: 'the registry tick and prune; a store script Redis does not know yet; SHARDNUMSUB on a cluster',
    },
    { command: 'evalsha', why: 'the durable store scripts (lua-script.ts)' },
    {
      command: 'multi',
      why: "taking parked replies, its owner heartbeat, durable counts, a tick's reads",
    },
    { command: 'exec', why: 'the same transactions' },
    { command: 'lrange', why: 'taking parked replies' },
    { command: 'del', why: 'taking parked replies; a dead owner leaving (scripts)' },
    { command: 'hset', why: 'its owner entry (beat); task records (scripts)' },
    { command: 'set', why: 'its owner heartbeat (SET PX)' },
    { command: 'hkeys', why: 'the durable owners (deadOwners, counts)' },
    { command: 'smembers', why: "an owner's active tasks (activeIds; adopt and reclaim scripts)" },
    { command: 'zcard', why: 'the backlog sizes (counts; add script)' },
    { command: 'scard', why: "an owner's active count (counts; leave script)" },
    { command: 'exists', why: 'registry prune and store scripts: heartbeats, records' },
    { command: 'hget', why: 'registry prune and store scripts' },
    { command: 'hdel', why: 'registry prune and store scripts' },
    {
      command: 'hmget',
      why: "store scripts: fields of a task record; a tick: changed workers' entries, the log's number",
    },
    { command: 'pexpire', why: 'store scripts: a finished record expires after resultTtlMs' },
    {
      command: 'zadd',
      why: 'store scripts: the backlog and the delayed set; the prune script: the change log',
    },
    {
      command: 'zrem',
      why: "store scripts: the backlog and the delayed set; the prune script: a dead worker's deadline",
    },
    {
      command: 'zrangebyscore',
      why: 'claim script: delayed tasks now due; the tick script: changes and lapsed deadlines',
    },
    { command: 'zpopmin', why: 'claim script: the next waiting tasks' },
    { command: 'sadd', why: "store scripts: an owner's active set" },
    { command: 'srem', why: "store scripts: an owner's active set" },
    {
      command: 'zremrangebyscore',
      why: "stats report script: lapsed dispatchers leave the reports' index",
    },
    { command: 'pttl', why: "stats report script: the reports' index lives as long as a report" },
  ],
  keys: [
    {
      key: (n) => n.registryKey,
      access: 'read-write',
      why: 'the worker registry: read (HGETALL), dead entries pruned (script)',
    },
    {
      key: (n) => anyId(n.heartbeatKey),
      access: 'read-write',
      why: "workers' heartbeats: read (MGET), and keys of the prune script",
    },
    {
      key: (n) => n.registryVersionKey,
      access: 'read-write',
      why: "the change log's number: read each tick, bumped by the prune, its floor by the trim",
    },
    {
      key: (n) => n.registryChangesKey,
      access: 'read-write',
      why: 'the change log: read each tick (ZRANGEBYSCORE), trimmed, a pruned worker logged',
    },
    {
      key: (n) => n.heartbeatDeadlinesKey,
      access: 'read-write',
      why: 'heartbeat deadlines: the lapsed ones read each tick; a pruned worker removed',
    },
    { key: (n) => anyId(n.workerStatsKey), access: 'read', why: "workers' stats reports (MGET)" },
    {
      key: (n) => anyId(n.parkedKey),
      access: 'read-write',
      why: 'parked replies: its own, and a dead owner it adopts',
    },
    { key: (n) => anyId(n.taskKey), access: 'read-write', why: 'durable task records' },
    { key: (n) => n.backlogKey, access: 'read-write', why: 'durable backlog' },
    { key: (n) => n.delayedKey, access: 'read-write', why: 'durable delayed tasks' },
    { key: (n) => anyId(n.activeKey), access: 'read-write', why: "owners' active sets (adoption)" },
    { key: (n) => n.dispatchersKey, access: 'read-write', why: 'durable owners' },
    {
      key: (n) => anyId(n.dispatcherHeartbeatKey),
      access: 'read-write',
      why: "owners' heartbeats: its own, and whether others are alive",
    },
    {
      key: (n) => anyId(n.workerChannel),
      access: 'read-write',
      why: "workers' channel names as the key of the SHARDNUMSUB script, so it runs on the channel's master (no such key is ever written)",
      cluster: true,
    },
    {
      key: (n) => own(n.dispatcherStatsKey),
      access: 'read-write',
      why: 'its stats report (stats-publisher.ts: the report script; DEL at close)',
    },
    {
      key: (n) => n.dispatcherStatsIndexKey,
      access: 'read-write',
      why: "the dispatchers' reports index (the report script; ZREM at close)",
    },
  ],
  channels: [
    { channel: (n) => own(n.replyChannel), why: 'its replies (subscribe)' },
    { channel: (n) => n.controlChannel, why: 'worker hello and leave (subscribe)' },
    {
      channel: (n) => n.settledChannel,
      why: 'durable outcomes (subscribe; the settle scripts publish, or with frame auth the dispatcher)',
    },
    { channel: (n) => n.cancelChannel, why: 'durable cancels (subscribe and publish)' },
    {
      channel: (n) => anyId(n.workerChannel),
      why: 'tasks and cancels to any worker (publish only)',
    },
  ],
};

const ADMIN: RoleGrants = {
  summary: 'the ringcast CLI (workers, stats, inspect, reweight, drain) and its dashboard',
  takesId: false,
  commands: [
    ...CONNECTION,
    {
      command: 'hgetall',
      why: 'the registry and weight policy (cluster-view.ts); a task record (inspect)',
    },
    { command: 'hget', why: "one worker's registry entry (reweight, drain)" },
    { command: 'mget', why: "workers' heartbeats" },
    { command: 'pttl', why: 'how old each heartbeat is (workers)' },
    {
      command: 'time',
      why: "the dashboard's heartbeat probe: Redis's clock against the deadlines",
    },
    {
      command: 'zmscore',
      why: "the dashboard's heartbeat probe: the watched workers' deadlines in one command",
    },
    { command: 'get', why: "each worker's and dispatcher's stats report" },
    { command: 'zrange', why: "the dispatchers' stats reports index (cluster-view.ts)" },
    { command: 'zcard', why: 'the durable backlog sizes' },
    { command: 'hkeys', why: 'the durable owners' },
    { command: 'exists', why: "whether each durable owner's heartbeat is current" },
    { command: 'scard', why: "each durable owner's active count" },
    { command: 'hset', why: "reweight: the operator's weight policy", operator: true },
    { command: 'hdel', why: 'reweight --reset', operator: true },
    {
      command: 'publish',
      why: "reweight and drain requests on a worker's channel",
      operator: true,
      cluster: false,
    },
    {
      command: 'spublish',
      why: "reweight and drain requests on a worker's sharded channel",
      operator: true,
      cluster: true,
    },
    {
      command: 'subscribe',
      why: "the dashboard hears workers' hello and leave",
      cluster: false,
    },
    {
      command: 'ssubscribe',
      why: "the dashboard hears workers' hello and leave (sharded)",
      cluster: true,
    },
  ],
  keys: [
    { key: (n) => n.registryKey, access: 'read', why: 'the worker registry' },
    { key: (n) => anyId(n.heartbeatKey), access: 'read', why: "workers' heartbeats (MGET, PTTL)" },
    {
      key: (n) => n.heartbeatDeadlinesKey,
      access: 'read',
      why: "heartbeat deadlines (ZMSCORE, the dashboard's probe)",
    },
    { key: (n) => anyId(n.workerStatsKey), access: 'read', why: "workers' stats reports" },
    {
      key: (n) => n.dispatcherStatsIndexKey,
      access: 'read',
      why: "the dispatchers' stats reports index (ZRANGE)",
    },
    {
      key: (n) => anyId(n.dispatcherStatsKey),
      access: 'read',
      why: "dispatchers' stats reports: end-to-end latency",
    },
    { key: (n) => n.weightsKey, access: 'read', why: "the operator's weight policy" },
    {
      key: (n) => n.weightsKey,
      access: 'write',
      why: 'reweight sets and resets weights in it',
      operator: true,
    },
    { key: (n) => n.backlogKey, access: 'read', why: 'durable backlog (ZCARD)' },
    { key: (n) => n.delayedKey, access: 'read', why: 'durable delayed tasks (ZCARD)' },
    { key: (n) => n.dispatchersKey, access: 'read', why: 'durable owners (HKEYS)' },
    {
      key: (n) => anyId(n.dispatcherHeartbeatKey),
      access: 'read',
      why: "owners' heartbeats (EXISTS)",
    },
    { key: (n) => anyId(n.activeKey), access: 'read', why: "owners' active sets (SCARD)" },
    { key: (n) => anyId(n.taskKey), access: 'read', why: 'durable task records (inspect)' },
  ],
  channels: [
    {
      channel: (n) => anyId(n.workerChannel),
      why: 'reweight and drain requests (publish only)',
      operator: true,
    },
    { channel: (n) => n.controlChannel, why: 'hello and leave, for the dashboard (subscribe)' },
  ],
};

export const ROLE_GRANTS: Readonly<Record<Role, RoleGrants>> = {
  worker: WORKER,
  dispatcher: DISPATCHER,
  admin: ADMIN,
};
