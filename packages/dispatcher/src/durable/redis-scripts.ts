/**
 * The Lua scripts of the Redis store (`redis-store.ts`), one per operation
 * that touches more than one key or decides on what it reads, so that each is
 * one atomic step in Redis. `memory-store.ts` does the same steps inside one
 * command of the in-memory model; the contract suite holds both to one
 * behaviour.
 *
 * The hot operations (add, started, settle, and reading records) take a run of
 * operations at once (`batcher.ts` gathers those issued in one turn): the
 * script applies each in turn, exactly as its own call would have, and
 * answers one reply per operation. A Redis error inside one operation fails
 * that one alone (`{ 'error', message }`), as if it had been its own call.
 * Each operation's arguments travel as one JSON array of strings: a few
 * large arguments cost ioredis and Redis far less than many small ones
 * (measured: ~10 µs less per add on the client, and less on the server too).
 * Their keys are among those arguments, named by the store from checked ids.
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

-- The leading numbers of a packed record's spec (record-spec.ts) as stored text: priority,
-- createdAt, resultTtlMs, expiresAt ('null' for none); nil for no spec, or one not led by them.
local function spec_head(spec)
  if type(spec) ~= 'string' then return nil end
  return string.match(spec, '^%[1,([^,]*),([^,]*),([^,]*),([^,]*),')
end

local function backlog_score(key)
  local fields = redis.call('HMGET', key, 'spec', 'priority', 'createdAt')
  local priority, created
  if fields[1] then
    priority, created = spec_head(fields[1])
  else
    priority, created = fields[2], fields[3]
  end
  priority = int(priority)
  if not priority or priority < ${PRIORITY_MIN} or priority > ${PRIORITY_MAX} then priority = 0 end
  created = int(created)
  if not created or created < 0 or created >= ${BACKLOG_PRIORITY_STEP} then created = 0 end
  return string.format('%.0f', (${PRIORITY_MAX} - priority) * ${BACKLOG_PRIORITY_STEP} + created)
end

-- The terminal write, but for the announcement on the settled channel (the caller's): fields
-- are the state, finishedAt and what else it stores; spec is the record's spec as read (false
-- for a record of the layout before it, whose resultTtlMs is a field of its own). The owner
-- field is left as it is: every fenced step reads the state first, and a reader ignores the
-- owner of a finished task (record.ts) — one write command less per task.
local function finish(key, fields, spec)
  redis.call('HSET', key, unpack(fields))
  local ttl
  if spec then
    local _, _, packed_ttl = spec_head(spec)
    ttl = int(packed_ttl)
  else
    ttl = int(redis.call('HGET', key, 'resultTtlMs'))
  end
  if not ttl or ttl < 1 then ttl = ${DEFAULT_RESULT_TTL_MS} end
  redis.call('PEXPIRE', key, ttl)
end

-- Where the value of field name is in an HGETALL reply (nil if absent).
local function field_at(hash, name)
  for i = 1, #hash, 2 do
    if hash[i] == name then return i + 1 end
  end
  return nil
end

-- Most values one unpack() spreads over a command's arguments (Lua's C stack is bounded).
local UNPACK_CHUNK = 1000

local function terminal(state)
  return state == 'succeeded' or state == 'failed' or state == 'cancelled'
end

-- The reply of an operation that failed alone: what Redis (or Lua) raised.
local function refused(err)
  return { 'error', type(err) == 'table' and err.err or tostring(err) }
end

local function apply(fn, i, packed)
  return fn(i, cjson.decode(packed))
end

-- Operation i of a run, its arguments one JSON array: fn(i, arguments)'s reply, or refused
-- if Redis refused a call in it (or its arguments did not decode).
local function each(fn, i, packed)
  local ok, reply = pcall(apply, fn, i, packed)
  if ok then return reply end
  return refused(reply)
end

-- The set and sorted-set writes of a run's operations, made once at its end, one command per
-- key: deferred(writes, 'SADD', key, i, member) for operation i.
local function deferred(writes, command, key, i, ...)
  local write = writes.byKey[key]
  if not write then
    write = { command = command, key = key, args = {}, ops = {} }
    writes.byKey[key] = write
    writes[#writes + 1] = write
  end
  for _, arg in ipairs({ ... }) do write.args[#write.args + 1] = arg end
  write.ops[#write.ops + 1] = i
end

-- Makes the deferred writes; an operation whose write Redis refused gets that error as its reply.
local function write_deferred(writes, replies)
  for _, write in ipairs(writes) do
    local ok, err = pcall(redis.call, write.command, write.key, unpack(write.args))
    if not ok then
      for _, i in ipairs(write.ops) do replies[i] = refused(err) end
    end
  end
end
`;

function script(body: string): LuaScript {
  return new LuaScript(HELPERS + body);
}

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

/** Reads a run of records. KEYS: their keys. Returns per key its HGETALL. */
export const GET = script(`
local replies = {}
for i = 1, #KEYS do
  local ok, reply = pcall(redis.call, 'HGETALL', KEYS[i])
  replies[i] = ok and reply or refused(reply)
end
return replies
`);

/**
 * Peeks at a run of tasks. KEYS: their keys. Returns per key { state, expiresAt } (each false
 * when absent; expiresAt read from the spec of a packed record).
 */
export const PEEK = script(`
local replies = {}
for i = 1, #KEYS do
  local ok, reply = pcall(redis.call, 'HMGET', KEYS[i], 'state', 'expiresAt', 'spec')
  if not ok then
    replies[i] = refused(reply)
  elseif reply[3] then
    local _, _, _, expires = spec_head(reply[3])
    replies[i] = { reply[1], expires ~= 'null' and expires or false }
  else
    replies[i] = { reply[1], reply[2] }
  end
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
