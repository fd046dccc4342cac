/**
 * The Redis store's scripts that bring tasks in: adding a run of them, and
 * claiming from the backlog (delayed tasks that are due moved there first).
 * Both place a task under an owner only while that owner's heartbeat lives.
 */
import { script } from './redis-script-helpers.js';

/**
 * Adds a run of tasks.
 * KEYS: backlog, delayed. ARGV: per task [key, owner's active set, owner's heartbeat ('' for
 * both when unclaimed), placement, score, maxBacklog ('' for none), id, then its fields and values].
 * Returns per task 'added' | 'claimed' | 'full' | 'exists'.
 * A claim by an owner whose heartbeat lapsed (paused, or its write held up past its TTL) would
 * make a task nobody adopts: the task waits in the backlog instead.
 */
export const ADD = script(`
local writes = { byKey = {} }
-- Tasks this run put in the backlog or the delayed set: their ZADD waits for the run's end.
local queued = 0
-- Whether each owner's heartbeat lives: it cannot change while the script runs.
local alive = {}
local function add(i, a)
  local key, placement, max, id = a[1], a[4], a[6], a[7]
  if redis.call('EXISTS', key) == 1 then return 'exists' end
  local demoted = false
  if placement == 'claimed' then
    if alive[a[3]] == nil then alive[a[3]] = redis.call('EXISTS', a[3]) == 1 end
    demoted = not alive[a[3]]
    if demoted then placement = 'waiting' end
  end
  if placement ~= 'claimed' and max ~= '' then
    local waiting = redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2]) + queued
    if waiting >= tonumber(max) then return 'full' end
  end
  redis.call('HSET', key, unpack(a, 8))
  if placement == 'claimed' then
    deferred(writes, 'SADD', a[2], i, id)
    return 'claimed'
  end
  if demoted then
    redis.call('HSET', key, 'state', 'waiting')
    redis.call('HDEL', key, 'owner')
  end
  deferred(writes, 'ZADD', placement == 'delayed' and KEYS[2] or KEYS[1], i, a[5], id)
  queued = queued + 1
  return 'added'
end
local replies = {}
for i = 1, #ARGV do replies[i] = each(add, i, ARGV[i]) end
write_deferred(writes, replies)
return replies
`);

/**
 * KEYS: backlog, delayed, owner's active set, owner's heartbeat.
 * ARGV: owner, n, now, task key prefix, due batch, lean ('1': the claimer holds copies of its
 * own tasks).
 * Returns { { id, HGETALL }, ... } of the claimed tasks: none for an owner whose
 * heartbeat lapsed (tasks it took now would be adopted by nobody). Lean, it returns instead
 * { id, attempts, cancel, worker, startedAt } per task (each false when absent): the fields that
 * change while a task waits, or the id alone when none is set; the claimer builds the rest from
 * its copy, or reads the record.
 */
export const CLAIM = script(`
if redis.call('EXISTS', KEYS[4]) == 0 then return {} end
local owner, n, now, prefix, lean = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[6] == '1'
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
-- The claimed ids, added to the owner's active set at the end in one SADD per chunk.
local ids = {}
while #claimed < n do
  local popped = redis.call('ZPOPMIN', KEYS[1], n - #claimed)
  if #popped == 0 then break end
  for i = 1, #popped, 2 do
    local id = popped[i]
    if valid_id(id) and lean then
      local key = prefix .. id
      local f = redis.call('HMGET', key, 'state', 'attempts', 'cancel', 'worker', 'startedAt')
      if f[1] == 'waiting' then
        redis.call('HSET', key, 'state', 'active', 'owner', owner)
        ids[#ids + 1] = id
        if f[2] or f[3] or f[4] or f[5] then
          claimed[#claimed + 1] = { id, f[2], f[3], f[4], f[5] }
        else
          -- Nothing changed while it waited (the common case): its id alone says so.
          claimed[#claimed + 1] = id
        end
      end
    elseif valid_id(id) then
      local key = prefix .. id
      -- One read for the check and the reply: the record as it is once claimed.
      local hash = redis.call('HGETALL', key)
      local state_at, owner_at = field_at(hash, 'state'), field_at(hash, 'owner')
      if state_at and hash[state_at] == 'waiting' then
        redis.call('HSET', key, 'state', 'active', 'owner', owner)
        hash[state_at] = 'active'
        if owner_at then
          hash[owner_at] = owner
        else
          hash[#hash + 1] = 'owner'
          hash[#hash + 1] = owner
        end
        ids[#ids + 1] = id
        claimed[#claimed + 1] = { id, hash }
      end
    end
  end
end
for first = 1, #ids, UNPACK_CHUNK do
  redis.call('SADD', KEYS[3], unpack(ids, first, math.min(first + UNPACK_CHUNK - 1, #ids)))
end
return claimed
`);
