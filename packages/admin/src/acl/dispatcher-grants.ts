/** What the dispatcher role uses: see role-grants.ts. */
import { CONNECTION } from './connection-grants.js';
import { anyId, own, type RoleGrants } from './grant.js';

export const DISPATCHER_GRANTS: RoleGrants = {
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
    {
      command: 'exists',
      why: "registry prune and store scripts: heartbeats, records; start()'s check that no live process serves its id",
    },
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
      key: (n) => own(n.replyChannel),
      access: 'read-write',
      why: "its reply channel's name as the key of the SHARDNUMSUB script, start()'s check that no live process serves its id (no such key is ever written)",
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
