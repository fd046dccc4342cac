/**
 * The Redis store's scripts that move a task on, each fenced by what it reads
 * (state, owner) so a dispatcher that lost a task cannot write over it:
 * recording attempts started, settling, releasing to the backlog, cancelling.
 * Their terminal writes all go through the shared `finish`.
 */
import { script } from './redis-script-helpers.js';

/**
 * Records a run of attempts started.
 * ARGV: per attempt [its task's key, owner, attempt, worker, now].
 * Returns per attempt 0 if not written (the task is not active and the owner's), 1 if written,
 * 2 if written and a cancel was requested.
 */
export const STARTED = script(`
local function started(_, a)
  local key, owner, attempt, worker = a[1], a[2], a[3], a[4]
  local fields = redis.call('HMGET', key, 'state', 'owner', 'startedAt', 'cancel')
  if fields[1] ~= 'active' or fields[2] ~= owner then return 0 end
  if fields[3] then
    redis.call('HSET', key, 'attempts', attempt, 'worker', worker)
  else
    redis.call('HSET', key, 'attempts', attempt, 'worker', worker, 'startedAt', a[5])
  end
  if fields[4] == '1' then return 2 end
  return 1
end
local replies = {}
for i = 1, #ARGV do replies[i] = each(started, i, ARGV[i]) end
return replies
`);

/**
 * Settles a run of tasks.
 * KEYS: backlog, delayed. ARGV: the settled channel, then per task [its key, its owner's active
 * set (its key without an owner), id, owner ('' for none), state, field ('' for none), value,
 * now, and the attempt whose `started` it carries: attempt, worker, its now ('' for none)].
 * Returns per task 1 (settled) | { 'stale', HGETALL } | { 'already', HGETALL } | { 'unknown' }.
 * The ids it settled are announced in one message on the settled channel, space-separated;
 * with the channel '' they are not (the store announces them, signed: frame authentication).
 */
export const SETTLE = script(`
local writes = { byKey = {} }
local settled = {}
local function settle(i, a)
  local key, id, owner = a[1], a[3], a[4]
  local fields = redis.call('HMGET', key, 'state', 'owner', 'spec', 'startedAt')
  local state = fields[1]
  if not state then return { 'unknown' } end
  if terminal(state) then return { 'already', redis.call('HGETALL', key) } end
  if state == 'active' then
    if owner == '' or fields[2] ~= owner then return { 'stale', redis.call('HGETALL', key) } end
    deferred(writes, 'SREM', a[2], i, id)
  elseif state == 'waiting' or state == 'delayed' then
    if owner ~= '' then return { 'stale', redis.call('HGETALL', key) } end
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
  else
    return { 'unknown' }
  end
  local write = { 'state', a[5], 'finishedAt', a[8] }
  if a[6] ~= '' then
    write[5] = a[6]
    write[6] = a[7]
  end
  -- The carried start, fenced as its own call is: the task is active and the owner's.
  if a[9] ~= '' then
    write[#write + 1] = 'attempts'
    write[#write + 1] = a[9]
    write[#write + 1] = 'worker'
    write[#write + 1] = a[10]
    if not fields[4] then
      write[#write + 1] = 'startedAt'
      write[#write + 1] = a[11]
    end
  end
  finish(key, write, fields[3])
  settled[#settled + 1] = id
  -- An integer, not a table: the common reply costs Redis and the client least.
  return 1
end
local replies = {}
for i = 2, #ARGV do replies[i - 1] = each(settle, i - 1, ARGV[i]) end
write_deferred(writes, replies)
if #settled > 0 and ARGV[1] ~= '' then
  redis.call('PUBLISH', ARGV[1], table.concat(settled, ' '))
end
return replies
`);

/**
 * KEYS: task, backlog, owner's active set.
 * ARGV: id, owner, now, settled channel ('' to announce nothing), the cancelled error's JSON.
 * Returns 1 if released, 2 if cancelled (a cancel was requested), 0 if not the owner's.
 */
export const RELEASE = script(`
local fields = redis.call('HMGET', KEYS[1], 'state', 'owner', 'cancel', 'spec')
if fields[1] ~= 'active' or fields[2] ~= ARGV[2] then return 0 end
redis.call('SREM', KEYS[3], ARGV[1])
if fields[3] == '1' then
  finish(KEYS[1], { 'state', 'cancelled', 'finishedAt', ARGV[3], 'error', ARGV[5] }, fields[4])
  if ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[1]) end
  return 2
end
redis.call('HSET', KEYS[1], 'state', 'waiting')
redis.call('HDEL', KEYS[1], 'owner')
redis.call('ZADD', KEYS[2], backlog_score(KEYS[1]), ARGV[1])
return 1
`);

/**
 * KEYS: task, backlog, delayed.
 * ARGV: id, now, settled channel ('' to announce nothing), the cancelled error's JSON.
 * Returns { 'cancelled' } | { 'requested', owner } | { 'finished' } | { 'unknown' }.
 */
export const CANCEL = script(`
local fields = redis.call('HMGET', KEYS[1], 'state', 'owner', 'spec')
local state = fields[1]
if state == 'waiting' or state == 'delayed' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
  finish(KEYS[1], { 'state', 'cancelled', 'finishedAt', ARGV[2], 'error', ARGV[4] }, fields[3])
  if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[3], ARGV[1]) end
  return { 'cancelled' }
end
if state == 'active' and valid_id(fields[2]) then
  redis.call('HSET', KEYS[1], 'cancel', '1')
  return { 'requested', fields[2] }
end
if terminal(state) then return { 'finished' } end
return { 'unknown' }
`);
