/**
 * The Redis store's reads of a run of records: whole (GET), or only what
 * deciding on a task needs (PEEK: its state and expiry). Each key read on its
 * own, so one Redis refuses fails that key alone.
 */
import { script } from './redis-script-helpers.js';

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
