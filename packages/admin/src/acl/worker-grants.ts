/** What the worker role uses: see role-grants.ts. */
import { CONNECTION } from './connection-grants.js';
import { anyId, own, type RoleGrants } from './grant.js';

export const WORKER_GRANTS: RoleGrants = {
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
      why: 'park: a reply kept for its dispatcher, its TTL and its bound in one step (redis-transport.ts)',
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
