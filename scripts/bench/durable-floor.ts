// What a durable task costs Redis at the least, on this machine: a private redis-server with AOF
// (appendfsync everysec, as the durable scenario runs it) fed pipelined Lua calls that each store
// and then finish a batch of tasks, with no dispatcher, worker or pub/sub around them. It prints
// Redis's CPU µs per task (from /proc) for record layouts from today's to the least imaginable:
//
//   today       the record the durable store writes (11 hash fields, ~100-byte payload), claimed
//               at add (SADD), then the fenced settle (HMGET, HSET, HDEL, PEXPIRE, SREM)
//   backlog     as today, through the backlog: ZADD at add; ZPOPMIN, HGETALL, HSET, SADD at claim
//   packed      a record of 3 hash fields (state, owner, the rest packed in one), claimed at add;
//               settle: HMGET state owner, HSET state and result, PEXPIRE, SREM
//   floor       one SET of the packed record, then one SET of the outcome with its TTL: no index,
//               no fence, no read — not a durable task store, the floor under any
//
//   tsx scripts/bench/durable-floor.ts [--tasks 200000] [--batch 100]
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { DURABLE_REDIS_ARGS } from './durable.js';
import { BenchError, cleanup, cpuMeter, startRedis } from './harness.js';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string' },
    batch: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('usage: tsx scripts/bench/durable-floor.ts [--tasks N] [--batch B]');
  process.exit(0);
}
const TASKS = Number(values.tasks ?? 200_000);
const BATCH = Number(values.batch ?? 100);
if (!Number.isInteger(TASKS) || TASKS < BATCH || !Number.isInteger(BATCH) || BATCH < 1) {
  throw new BenchError('--tasks and --batch must be integers, tasks ≥ batch ≥ 1');
}

const PAYLOAD = JSON.stringify({ i: 12345, d: 'x'.repeat(64) });
const RESULT = PAYLOAD;
const NOW = String(Date.now());

/** Per variant: the add and settle scripts (ARGV: ids; KEYS: the index keys) and their extra ARGV. */
interface Variant {
  add: string;
  settle: string;
  /** The claim script, for the backlog variant (run between add and settle). */
  claim?: string;
}

const TODAY_FIELDS = [
  'handler',
  'echo',
  'state',
  'active',
  'owner',
  'd-1',
  'priority',
  '0',
  'attempts',
  '0',
  'createdAt',
  NOW,
  'timeoutMs',
  '60000',
  'retries',
  '0',
  'resultTtlMs',
  '86400000',
  'payload',
  PAYLOAD,
];

/** The same record waiting in the backlog: no owner yet. */
const WAITING_FIELDS = TODAY_FIELDS.slice();
WAITING_FIELDS.splice(2, 4, 'state', 'waiting');

const lua = (s: string) => s;

const VARIANTS: Record<string, Variant> = {
  today: {
    add: lua(`
local f = cjson.decode(ARGV[1])
for i = 2, #ARGV do
  local id = ARGV[i]
  if redis.call('EXISTS', 't:' .. id) == 0 then
    redis.call('HSET', 't:' .. id, 'id', id, unpack(f))
  end
end
redis.call('SADD', KEYS[1], unpack(ARGV, 2))
return 0`),
    settle: lua(`
for i = 2, #ARGV do
  local key = 't:' .. ARGV[i]
  local h = redis.call('HMGET', key, 'state', 'owner', 'resultTtlMs', 'startedAt')
  if h[1] == 'active' then
    redis.call('HSET', key, 'state', 'succeeded', 'finishedAt', ARGV[1], 'result', ARGV[1], 'attempts', '1', 'worker', 'w-1', 'startedAt', ARGV[1])
    redis.call('HDEL', key, 'owner')
    redis.call('PEXPIRE', key, 60000)
  end
end
redis.call('SREM', KEYS[1], unpack(ARGV, 2))
redis.call('PUBLISH', 'settled', table.concat(ARGV, ' ', 2))
return 0`),
  },
  backlog: {
    add: lua(`
local f = cjson.decode(ARGV[1])
local z = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  if redis.call('EXISTS', 't:' .. id) == 0 then
    redis.call('HSET', 't:' .. id, 'id', id, unpack(f))
  end
  z[#z + 1] = i
  z[#z + 1] = id
end
redis.call('ZADD', KEYS[2], unpack(z))
return 0`),
    claim: lua(`
local popped = redis.call('ZPOPMIN', KEYS[2], #ARGV - 1)
local ids = {}
local out = {}
for i = 1, #popped, 2 do
  local key = 't:' .. popped[i]
  local h = redis.call('HGETALL', key)
  redis.call('HSET', key, 'state', 'active', 'owner', 'd-1')
  ids[#ids + 1] = popped[i]
  out[#out + 1] = h
end
redis.call('SADD', KEYS[1], unpack(ids))
return out`),
    settle: '',
  },
  packed: {
    add: lua(`
for i = 2, #ARGV do
  local key = 't:' .. ARGV[i]
  if redis.call('EXISTS', key) == 0 then
    redis.call('HSET', key, 'state', 'active', 'owner', 'd-1', 'task', ARGV[1])
  end
end
redis.call('SADD', KEYS[1], unpack(ARGV, 2))
return 0`),
    settle: lua(`
for i = 2, #ARGV do
  local key = 't:' .. ARGV[i]
  local h = redis.call('HMGET', key, 'state', 'owner')
  if h[1] == 'active' then
    redis.call('HSET', key, 'state', 'succeeded', 'end', ARGV[1])
    redis.call('PEXPIRE', key, 60000)
  end
end
redis.call('SREM', KEYS[1], unpack(ARGV, 2))
redis.call('PUBLISH', 'settled', table.concat(ARGV, ' ', 2))
return 0`),
  },
  floor: {
    add: lua(`
for i = 2, #ARGV do redis.call('SET', 't:' .. ARGV[i], ARGV[1]) end
return 0`),
    settle: lua(`
for i = 2, #ARGV do redis.call('SET', 't:' .. ARGV[i], ARGV[1], 'PX', 60000) end
return 0`),
  },
};
VARIANTS['backlog']!.settle = VARIANTS['today']!.settle;

async function measure(redis: Redis, pid: number, name: string, variant: Variant) {
  await redis.flushdb();
  const addSha = (await redis.script('LOAD', variant.add)) as string;
  const settleSha = (await redis.script('LOAD', variant.settle)) as string;
  const claimSha = variant.claim ? ((await redis.script('LOAD', variant.claim)) as string) : '';
  const addArg =
    name === 'today'
      ? JSON.stringify(TODAY_FIELDS)
      : name === 'backlog'
        ? JSON.stringify(WAITING_FIELDS)
        : PAYLOAD;
  const settleArg = RESULT;
  const keys = ['active:d-1', 'backlog'];
  const cpu = cpuMeter({ redis: [pid], client: [process.pid] });
  const started = Date.now();
  // A few batches in flight at a time, so that Redis never waits for the client.
  const inFlight = 8;
  let next = 0;
  const lane = async () => {
    while (next < TASKS) {
      const first = next;
      next += BATCH;
      const ids = Array.from({ length: BATCH }, (_, k) => `${name}-${first + k}`);
      await redis.evalsha(addSha, 2, ...keys, addArg, ...ids);
      if (claimSha) await redis.evalsha(claimSha, 2, ...keys, '', ...ids);
      await redis.evalsha(settleSha, 2, ...keys, settleArg, ...ids);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const seconds = (Date.now() - started) / 1000;
  const perTask = cpu(TASKS);
  console.log(
    JSON.stringify({
      variant: name,
      tasks: TASKS,
      tasksPerSec: Math.round(TASKS / seconds),
      redisCpuUsPerTask: perTask['redis'],
      clientCpuUsPerTask: perTask['client'],
    }),
  );
}

async function main() {
  const { url, server } = await startRedis(DURABLE_REDIS_ARGS);
  if (!server) throw new BenchError('durable-floor runs on its own redis-server only');
  const redis = new Redis(url);
  try {
    for (const round of [1, 2]) {
      for (const [name, variant] of Object.entries(VARIANTS)) {
        if (round === 1 && name !== 'today') continue; // one warm-up pass
        await measure(redis, server.pid, name, variant);
      }
    }
  } finally {
    await redis.quit();
  }
}

main().then(
  () => cleanup(false),
  async (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    await cleanup(true);
    process.exitCode = 1;
  },
);
