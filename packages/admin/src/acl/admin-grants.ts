/** What the admin role (the ringcast CLI and its dashboard) uses: see role-grants.ts. */
import { CONNECTION } from './connection-grants.js';
import { anyId, type RoleGrants } from './grant.js';

export const ADMIN_GRANTS: RoleGrants = {
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
