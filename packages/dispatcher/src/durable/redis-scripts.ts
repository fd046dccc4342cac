/**
 * The Lua scripts of the Redis store (`redis-store.ts`), one per operation
 * that touches more than one key or decides on what it reads, so that each is
 * one atomic step in Redis. `memory-store.ts` does the same steps inside one
 * command of the in-memory model; the contract suite holds both to one
 * behaviour.
 *
 * Claim and adopt find task ids inside Redis (in the backlog, in an active set)
 * and name their records from `taskKeyPrefix`; every id found that way is
 * checked against the id pattern first, so a stray member never names a key
 * outside the namespace. Nothing here trusts a field: an unreadable number
 * falls back to a harmless value, and the TypeScript side decodes what comes
 * back.
 */
import { BACKLOG_PRIORITY_STEP, PRIORITY_MAX, PRIORITY_MIN } from '@ringcast/protocol';
import { LuaScript } from './lua-script.js';
import { DEFAULT_RESULT_TTL_MS } from './record.js';

/**
 * Helpers shared by the scripts. `backlog_score` mirrors protocol's
 * `backlogScore` (same constants, taken from there) for the tasks whose score
 * is computed inside Redis: a delayed task once due, a released one.
 * `finish` is the terminal write.
 */
const HELPERS = `
local function int(value)
  if type(value) ~= 'string' or #value > 17 or not string.match(value, '^%-?%d+$') then
    return nil
  end
  return tonumber(value)
end

local function valid_id(id)
  return type(id) == 'string' and #id >= 1 and #id <= 128 and string.match(id, '^[%w_%.%-]+$') ~= nil
end

local function backlog_score(key)
  local fields = redis.call('HMGET', key, 'priority', 'createdAt')
  local priority = int(fields[1])
  if not priority or priority < ${PRIORITY_MIN} or priority > ${PRIORITY_MAX} then priority = 0 end
  local created = int(fields[2])
  if not created or created < 0 or created >= ${BACKLOG_PRIORITY_STEP} then created = 0 end
  return string.format('%.0f', (${PRIORITY_MAX} - priority) * ${BACKLOG_PRIORITY_STEP} + created)
end

local function finish(key, id, state, field, value, now, channel)
  redis.call('HSET', key, 'state', state, 'finishedAt', now)
  if field ~= '' then redis.call('HSET', key, field, value) end
  redis.call('HDEL', key, 'owner')
  local ttl = int(redis.call('HGET', key, 'resultTtlMs'))
  if not ttl or ttl < 1 then ttl = ${DEFAULT_RESULT_TTL_MS} end
  redis.call('PEXPIRE', key, ttl)
  redis.call('PUBLISH', channel, id)
end

local function terminal(state)
  return state == 'succeeded' or state == 'failed' or state == 'cancelled'
end
`;

function script(body: string): LuaScript {
  return new LuaScript(HELPERS + body);
}

/**
 * KEYS: task, backlog, delayed, owner's active set, owner's heartbeat (the task
 * key for both when unclaimed).
 * ARGV: placement, score, maxBacklog ('' for none), id, then field/value pairs.
 * A claim by an owner whose heartbeat lapsed (paused, or its write held up past
 * its TTL) would make a task nobody adopts: the task waits in the backlog instead.
 */
export const ADD = script(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 'exists' end
local placement = ARGV[1]
if placement == 'claimed' and redis.call('EXISTS', KEYS[5]) == 0 then placement = 'waiting' end
if placement ~= 'claimed' and ARGV[3] ~= '' then
  local waiting = redis.call('ZCARD', KEYS[2]) + redis.call('ZCARD', KEYS[3])
  if waiting >= tonumber(ARGV[3]) then return 'full' end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
if placement == 'claimed' then
  redis.call('SADD', KEYS[4], ARGV[4])
  return 'claimed'
elseif ARGV[1] == 'claimed' then
  redis.call('HSET', KEYS[1], 'state', 'waiting')
  redis.call('HDEL', KEYS[1], 'owner')
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
elseif placement == 'delayed' then
  redis.call('ZADD', KEYS[3], ARGV[2], ARGV[4])
else
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
end
return 'added'
`);

/**
 * KEYS: backlog, delayed, owner's active set, owner's heartbeat.
 * ARGV: owner, n, now, task key prefix, due batch.
 * Returns { { id, HGETALL }, ... } of the claimed tasks: none for an owner whose
 * heartbeat lapsed (tasks it took now would be adopted by nobody).
 */
export const CLAIM = script(`
if redis.call('EXISTS', KEYS[4]) == 0 then return {} end
local owner, n, now, prefix = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[5]))
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[2], id)
  if valid_id(id) then
    local key = prefix .. id
    if redis.call('HGET', key, 'state') == 'delayed' then
      redis.call('HSET', key, 'state', 'waiting')
      redis.call('ZADD', KEYS[1], backlog_score(key), id)
    end
  end
end
local claimed = {}
while #claimed < n do
  local popped = redis.call('ZPOPMIN', KEYS[1], n - #claimed)
  if #popped == 0 then break end
  for i = 1, #popped, 2 do
    local id = popped[i]
    if valid_id(id) then
      local key = prefix .. id
      if redis.call('HGET', key, 'state') == 'waiting' then
        redis.call('HSET', key, 'state', 'active', 'owner', owner)
        redis.call('SADD', KEYS[3], id)
        claimed[#claimed + 1] = { id, redis.call('HGETALL', key) }
      end
    end
  end
end
return claimed
`);

/**
 * KEYS: task. ARGV: owner, attempt, worker, now.
 * Returns 0 if not written (fenced), 1 if written, 2 if written and a cancel was requested.
 */
export const STARTED = script(`
local fields = redis.call('HMGET', KEYS[1], 'state', 'owner', 'startedAt', 'cancel')
if fields[1] ~= 'active' or fields[2] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'attempts', ARGV[2], 'worker', ARGV[3])
if not fields[3] then redis.call('HSET', KEYS[1], 'startedAt', ARGV[4]) end
if fields[4] == '1' then return 2 end
return 1
`);

/**
 * KEYS: task, backlog, delayed, owner's active set (the task key without an owner).
 * ARGV: id, owner ('' for none), state, field ('' for none), value, now, settled channel.
 * Returns { 'settled' } | { 'stale', HGETALL } | { 'already', HGETALL } | { 'unknown' }.
 */
export const SETTLE = script(`
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return { 'unknown' } end
if terminal(state) then return { 'already', redis.call('HGETALL', KEYS[1]) } end
local owner = ARGV[2]
if state == 'active' then
  if owner == '' or redis.call('HGET', KEYS[1], 'owner') ~= owner then
    return { 'stale', redis.call('HGETALL', KEYS[1]) }
  end
  redis.call('SREM', KEYS[4], ARGV[1])
elseif state == 'waiting' or state == 'delayed' then
  if owner ~= '' then return { 'stale', redis.call('HGETALL', KEYS[1]) } end
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
else
  return { 'unknown' }
end
finish(KEYS[1], ARGV[1], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
return { 'settled' }
`);

/**
 * KEYS: task, backlog, owner's active set.
 * ARGV: id, owner, now, settled channel, the cancelled error's JSON.
 * Returns 1 if released (or cancelled, when a cancel was requested), 0 if not the owner's.
 */
export const RELEASE = script(`
local fields = redis.call('HMGET', KEYS[1], 'state', 'owner', 'cancel')
if fields[1] ~= 'active' or fields[2] ~= ARGV[2] then return 0 end
redis.call('SREM', KEYS[3], ARGV[1])
if fields[3] == '1' then
  finish(KEYS[1], ARGV[1], 'cancelled', 'error', ARGV[5], ARGV[3], ARGV[4])
  return 1
end
redis.call('HSET', KEYS[1], 'state', 'waiting')
redis.call('HDEL', KEYS[1], 'owner')
redis.call('ZADD', KEYS[2], backlog_score(KEYS[1]), ARGV[1])
return 1
`);

/**
 * KEYS: task, backlog, delayed.
 * ARGV: id, now, settled channel, the cancelled error's JSON.
 * Returns { 'cancelled' } | { 'requested', owner } | { 'finished' } | { 'unknown' }.
 */
export const CANCEL = script(`
local fields = redis.call('HMGET', KEYS[1], 'state', 'owner')
local state = fields[1]
if state == 'waiting' or state == 'delayed' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
  finish(KEYS[1], ARGV[1], 'cancelled', 'error', ARGV[4], ARGV[2], ARGV[3])
  return { 'cancelled' }
end
if state == 'active' and valid_id(fields[2]) then
  redis.call('HSET', KEYS[1], 'cancel', '1')
  return { 'requested', fields[2] }
end
if terminal(state) then return { 'finished' } end
return { 'unknown' }
`);

/**
 * KEYS: heartbeat, active set, registry. ARGV: id.
 * A dispatcher that still owns tasks stays registered, so it reads as dead and they are adopted.
 */
export const LEAVE = script(`
redis.call('DEL', KEYS[1])
if redis.call('SCARD', KEYS[2]) == 0 then redis.call('HDEL', KEYS[3], ARGV[1]) end
return 0
`);

/**
 * KEYS: dead's heartbeat, dead's active set, owner's active set, registry, owner's heartbeat.
 * ARGV: dead, owner, task key prefix.
 * Returns { { id, HGETALL }, ... } of the adopted tasks: none while the dead one's
 * heartbeat lives, and none for an adopter whose own heartbeat lapsed (it may have
 * been adopted itself; what it took now nobody would adopt).
 */
export const ADOPT = script(`
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[5]) == 0 then return {} end
local dead, owner, prefix = ARGV[1], ARGV[2], ARGV[3]
local adopted = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if valid_id(id) then
    local key = prefix .. id
    local fields = redis.call('HMGET', key, 'state', 'owner')
    if fields[1] == 'active' and fields[2] == dead then
      redis.call('HSET', key, 'owner', owner)
      redis.call('SADD', KEYS[3], id)
      adopted[#adopted + 1] = { id, redis.call('HGETALL', key) }
    end
  end
end
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[4], dead)
return adopted
`);

/**
 * KEYS: the owner's active set. ARGV: owner, task key prefix.
 * Its active tasks, for a new process under the owner's id; members that are no
 * longer its active tasks are dropped from the set.
 */
export const RECLAIM = script(`
local owner, prefix = ARGV[1], ARGV[2]
local mine = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = valid_id(id) and (prefix .. id) or nil
  local fields = key and redis.call('HMGET', key, 'state', 'owner') or {}
  if fields[1] == 'active' and fields[2] == owner then
    mine[#mine + 1] = { id, redis.call('HGETALL', key) }
  else
    redis.call('SREM', KEYS[1], id)
  end
end
return mine
`);
