// Durable ringcast alone, for an A/B of one change on the durable path: the durable scenario's
// workload (two CLI workers of concurrency 100, durable dispatch in this process, W = 1,000, a
// private redis-server with AOF everysec) without BullMQ beside it, printing per run the CPU µs
// per task of each process group and where Redis spends its time (INFO commandstats: calls and
// µs per task, by command; a script's own calls are counted under their command too).
//
//   tsx scripts/bench/durable-alone.ts [--n 50000] [--runs 3]
//   node --cpu-prof --cpu-prof-dir DIR --import tsx scripts/bench/durable-alone.ts   (the
//   dispatcher's profile; read it with scripts/bench/profile-top.ts)
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { DURABLE_REDIS_ARGS } from './durable.js';
import { BenchError, cleanup, cpuMeter, startRedis } from './harness.js';
import { closedLoop, round, summarize } from './loop.js';
import { closeDispatcher, readyDispatcher, startWorkers } from './ringcast.js';

const HELP = `Usage: tsx scripts/bench/durable-alone.ts [--n N] [--w W] [--runs R] [--workers-profile DIR]

Prints one JSON line per run: tasks/s, CPU µs per task (bench, workers, redis) and Redis's
commands and µs per task by command.`;

const { values } = parseArgs({
  options: {
    n: { type: 'string' },
    w: { type: 'string' },
    runs: { type: 'string' },
    'workers-profile': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const count = (name: string, value: string | undefined, fallback: number) => {
  const n = value === undefined ? fallback : Number(value.replaceAll('_', ''));
  if (!Number.isInteger(n) || n < 1) throw new BenchError(`--${name} must be a positive integer`);
  return n;
};
const n = count('n', values.n, 50_000);
const w = count('w', values.w, 1_000);
const runs = count('runs', values.runs, 3);
const profile = values['workers-profile'];
const nodeArgs = profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : [];

interface Stat {
  calls: number;
  usec: number;
}

async function commandStats(admin: Redis): Promise<Map<string, Stat>> {
  const stats = new Map<string, Stat>();
  for (const m of (await admin.info('commandstats')).matchAll(
    /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm,
  )) {
    stats.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return stats;
}

function perTask(before: Map<string, Stat>, after: Map<string, Stat>, tasks: number) {
  const rows: Array<[string, { calls: number; us: number }]> = [];
  for (const [command, stat] of after) {
    const was = before.get(command) ?? { calls: 0, usec: 0 };
    const calls = (stat.calls - was.calls) / tasks;
    if (calls < 0.001) continue;
    rows.push([command, { calls: round(calls, 3), us: round((stat.usec - was.usec) / tasks, 2) }]);
  }
  return Object.fromEntries(rows.sort((a, b) => b[1].us - a[1].us));
}

const payload = (i: number) => ({ i, d: 'x'.repeat(64) });
const isEcho = (i: number, value: unknown) => (value as { i?: unknown } | undefined)?.i === i;

async function main() {
  const { url, server } = await startRedis(DURABLE_REDIS_ARGS);
  if (!server) throw new BenchError('durable-alone runs on its own redis-server only');
  const admin = new Redis(url);
  const namespace = `durable-alone-${process.pid}`;
  const ids = ['durable-1', 'durable-2'];
  const workers = startWorkers(
    url,
    namespace,
    ids.map((id) => ({ id, concurrency: 100 })),
    nodeArgs,
  );
  const dispatcher = await readyDispatcher(url, namespace, ids, workers);
  const send = (i: number) => dispatcher.dispatch('echo', payload(i), { durable: true });
  const abort = workers.map((c) => c.died);
  try {
    await closedLoop({ n: Math.max(1, Math.floor(n / 5)), w, send, label: 'warmup', abort });
    for (let run = 0; run < runs; run++) {
      const before = await commandStats(admin);
      const cpu = cpuMeter({
        bench: [process.pid],
        workers: workers.map((c) => c.process.pid ?? -1),
        redis: [server.pid],
      });
      const result = await closedLoop({ n, w, send, check: isEcho, label: 'durable', abort });
      const cpuUsPerTask = cpu(n);
      const redis = perTask(before, await commandStats(admin), n);
      const s = summarize(result);
      const total = Object.values(cpuUsPerTask).reduce((a, b) => a + b, 0);
      const redisUs = Object.values(redis).reduce((a, r) => a + r.us, 0);
      console.log(
        JSON.stringify({
          run,
          tasksPerSec: s.tasksPerSec,
          p50: s.p50,
          errors: s.errors,
          cpuUsPerTask: { ...cpuUsPerTask, total: round(total, 1) },
          redisCommandUsPerTask: round(redisUs, 1),
          redis,
        }),
      );
    }
  } finally {
    await closeDispatcher(dispatcher);
    await Promise.all(workers.map((c) => c.stop()));
    await admin.quit();
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
