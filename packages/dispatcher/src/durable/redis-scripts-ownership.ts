/**
 * The Redis store's scripts about who owns the active tasks: a dispatcher
 * leaving, one adopting a dead one's tasks, and a new process under a known
 * owner's id taking its own back.
 */
import { script } from './redis-script-helpers.js';

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
