/**
 * The frame shared by the Lua scripts of the Redis store (`redis-store.ts`):
 * the Lua helpers every script is prefixed with, and how all of them behave.
 *
 * The scripts (`redis-scripts-*.ts`) are one per operation that touches more
 * than one key or decides on what it reads, so that each is one atomic step
 * in Redis. `memory-store.ts` does the same steps inside one
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
-- owner of a finished task (record-decode.ts) — one write command less per task.
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

/** A script: `body` after the shared helpers. */
export function script(body: string): LuaScript {
  return new LuaScript(HELPERS + body);
}
