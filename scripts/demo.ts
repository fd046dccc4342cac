// npm run demo: ringcast end to end, with a worker killed halfway. Flags: see scripts/demo/args.ts.
import { randomUUID } from 'node:crypto';
import { createDispatcher, type Dispatcher } from '@ringcast/dispatcher';
import { describeRedis, errorMessage, names } from '@ringcast/protocol';
import {
  redisCliBinary,
  redisServerBinary,
  startRedisCluster,
  startRedisServer,
} from '@ringcast/redis-server';
import { Redis } from 'ioredis';
import { type DemoArgs, parseDemoArgs, USAGE, UsageError } from './demo/args.js';
import { runDurable } from './demo/durable.js';
import { embeddedRedis } from './demo/embedded-redis.js';
import { embeddedFleet, type Fleet, processFleet, type WorkerSpec } from './demo/fleet.js';
import { createProgress, type Progress } from './demo/progress.js';
import { Tally, type WorkerRow } from './demo/tally.js';

/** Each worker runs 16 handlers at once per unit of weight, so capacity follows weight. */
const CONCURRENCY_PER_WEIGHT = 16;
/** sha256 rounds per task (about a tenth of a millisecond of CPU) and the wait that stands in for I/O. */
const HASH_ROUNDS = 50;
const WAIT_MS = 2;
const TASK_TIMEOUT_MS = 30_000;
const WORKERS_READY_TIMEOUT_MS = 15_000;
/** How long cleanup after Ctrl-C may take before the demo exits regardless. */
const FORCED_EXIT_MS = 5_000;

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_SIGNAL: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };

const number = new Intl.NumberFormat('en-US');
const out = process.stdout;
const say = (line = '') => out.write(`${line}\n`);

type Mode = 'url' | 'private' | 'embedded' | 'cluster';

interface RedisTarget {
  mode: Mode;
  /** A URL for `url` and `private`; the embedded stand-in and a cluster have none. */
  url: string | undefined;
  /** `cluster`: the local cluster's `--cluster` argument and startup nodes. */
  cluster?: { spec: string; nodes: ReadonlyArray<{ host: string; port: number }> };
  describe: string;
  stop(): Promise<void>;
}

/** Cleanup steps, run once, last registered first. */
const cleanups: Array<(interrupted: boolean) => Promise<void>> = [];
let cleaning: Promise<void> | undefined;

function cleanup(interrupted: boolean): Promise<void> {
  cleaning ??= (async () => {
    for (const step of cleanups.reverse()) {
      await step(interrupted).catch((error: unknown) => {
        process.stderr.write(`demo: cleanup step failed: ${String(error)}\n`);
      });
    }
  })();
  return cleaning;
}

async function reachable(url: string): Promise<void> {
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
  } finally {
    probe.disconnect();
  }
}

/** `--cluster`: a local Redis Cluster, 3 masters and 3 replicas, stopped at the end. */
async function localCluster(): Promise<RedisTarget> {
  if (!redisServerBinary() || !redisCliBinary()) {
    throw new Error(
      '--cluster starts a local Redis Cluster: install redis-server and redis-cli ' +
        '(e.g. apt-get install redis-server redis-tools)',
    );
  }
  const cluster = await startRedisCluster();
  return {
    mode: 'cluster',
    url: undefined,
    cluster: { spec: cluster.spec, nodes: cluster.startupNodes },
    describe: `a local Redis Cluster, 3 masters + 3 replicas on ${cluster.spec}, stopped at the end`,
    stop: () => cluster.stop(),
  };
}

/** REDIS_URL if set; else a private redis-server from the PATH; else the embedded stand-in. */
async function findRedis(): Promise<RedisTarget> {
  // biome-ignore lint/suspicious/noUndeclaredEnvVars: read by the demo, which turbo does not run
  const url = process.env['REDIS_URL'];
  if (url) {
    try {
      await reachable(url);
    } catch (error) {
      throw new Error(`REDIS_URL (${describeRedis(url)}) is not reachable: ${errorMessage(error)}`);
    }
    return {
      mode: 'url',
      url,
      describe: `Redis at REDIS_URL (${describeRedis(url)})`,
      stop: async () => {},
    };
  }
  const binary = redisServerBinary();
  if (binary) {
    const server = await startRedisServer();
    return {
      mode: 'private',
      url: server.url,
      describe: `a private redis-server on ${server.host}:${server.port} (${binary}), stopped at the end`,
      stop: () => server.stop(),
    };
  }
  return {
    mode: 'embedded',
    url: undefined,
    describe: 'an embedded in-process Redis stand-in',
    stop: async () => {},
  };
}

function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const until = Date.now() + timeoutMs;
    const poll = () => {
      if (check()) resolve();
      else if (Date.now() > until) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 20);
    };
    poll();
  });
}

/** The worker with the most weight: losing it hurts most, which is the point. */
function pickVictim(specs: readonly WorkerSpec[]): WorkerSpec {
  return specs.reduce((best, spec) => (spec.weight >= best.weight ? spec : best));
}

async function run(args: DemoArgs): Promise<number> {
  const { tasks, weights, kill, durable, cluster } = args;
  const workers =
    weights.length === 1
      ? `1 worker with weight ${weights[0]}`
      : `${weights.length} workers with weights ${weights.join(', ')}`;
  say(
    durable
      ? `ringcast demo: ${number.format(tasks)} durable tasks, ${workers}, the dispatcher killed halfway`
      : `ringcast demo: ${number.format(tasks)} tasks, ${workers}${kill ? ', one killed halfway' : ''}`,
  );

  const namespace = `demo-${randomUUID().slice(0, 8)}`;
  const redis = cluster ? await localCluster() : await findRedis();
  cleanups.push(() => redis.stop());
  if (durable && redis.url === undefined) {
    throw new Error(
      '--durable runs each dispatcher as a process of its own, which the in-process stand-in ' +
        'cannot serve: install redis-server (e.g. apt-get install redis-server) or set REDIS_URL',
    );
  }
  if (redis.mode === 'embedded') {
    say(
      'No REDIS_URL and no redis-server on the PATH: running on an in-process stand-in (ioredis-mock) ' +
        'with in-process workers, good for trying ringcast out only; for the real thing install ' +
        'redis-server (e.g. apt-get install redis-server) or set REDIS_URL=redis://host:port.',
    );
  } else {
    say(`Redis: ${redis.describe}; namespace ${namespace}`);
  }

  const tally = new Tally(tasks);
  let dispatcher: Dispatcher | undefined;
  const progress: Progress = createProgress(out, () => ({
    done: tally.done,
    total: tasks,
    inflight: dispatcher?.stats().inflight ?? 0,
  }));
  const note = (message: string) => progress.log(`  ${message}`);

  const fleet: Fleet = redis.cluster
    ? processFleet('', namespace, redis.cluster)
    : redis.url === undefined
      ? await embeddedFleet(namespace, (m) => note(`worker: ${m}`))
      : processFleet(redis.url, namespace);
  const specs: WorkerSpec[] = weights.map((weight, i) => ({
    id: `worker-${i + 1}`,
    weight,
    concurrency: CONCURRENCY_PER_WEIGHT * weight,
  }));
  const rows: WorkerRow[] = specs.map(({ id, weight }) => ({ id, weight }));
  cleanups.push(async (interrupted) => {
    await fleet.close(interrupted);
    if (redis.mode === 'url' && redis.url) {
      // Our namespace is ours alone: leave nothing of it in a Redis we do not own.
      const n = names(namespace);
      const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      client.on('error', () => {});
      try {
        // A killed worker leaves what its leave would have removed: its claim (until its
        // TTL), its entry, heartbeat and deadline, and the registry's change log with them.
        const keys = [
          n.registryKey,
          n.registryVersionKey,
          n.registryChangesKey,
          n.heartbeatDeadlinesKey,
          ...rows.flatMap((r) => [n.heartbeatKey(r.id), n.workerStatsKey(r.id), n.claimKey(r.id)]),
        ];
        if (dispatcher) keys.push(n.parkedKey(dispatcher.id));
        await client.del(...keys);
      } finally {
        client.disconnect();
      }
    }
  });

  if (durable && redis.url !== undefined) {
    const ok = await runDurable({
      url: redis.url,
      namespace,
      tasks,
      fleet,
      specs,
      payload: { data: namespace, rounds: HASH_ROUNDS, waitMs: WAIT_MS },
      removeKeys: redis.mode === 'url',
      out,
      onCleanup: (step) => void cleanups.push(step),
    });
    await cleanup(false);
    return ok ? EXIT_OK : EXIT_FAILED;
  }

  // Its lines join the story, minus the prefix naming a dispatcher id nobody needs here.
  const fromDispatcher = (m: string) =>
    note(`dispatcher: ${m.replace(/^\[ringcast dispatcher [^\]]*\] /, '')}`);
  dispatcher = createDispatcher({
    redis: redis.cluster
      ? { cluster: [...redis.cluster.nodes] }
      : (redis.url ?? embeddedRedis({ lazyConnect: true })),
    namespace,
    timeoutMs: TASK_TIMEOUT_MS,
    reconcileIntervalMs: 250,
    drainTimeoutMs: 2_000,
    logger: { info: fromDispatcher, warn: fromDispatcher, error: fromDispatcher },
  });
  const d = dispatcher;
  await d.start();
  cleanups.push(async (interrupted) => {
    // After Ctrl-C nobody waits for the tasks in flight; exiting drops the connections.
    if (!interrupted) await d.close();
  });

  await Promise.all(specs.map((spec) => fleet.start(spec)));
  await waitFor(
    () => specs.every((s) => d.workers().some((w) => w.id === s.id && w.healthy)),
    WORKERS_READY_TIMEOUT_MS,
    'the dispatcher to see every worker',
  );

  // Half the workers' capacity stays free, so the ring's weights, not which worker happens to
  // be full, decide where tasks go; a worker that is slower than its weight asks still keeps up.
  const capacity = specs.reduce((sum, s) => sum + s.concurrency, 0);
  const window = Math.max(1, Math.floor(capacity / 2));
  say(
    `Dispatching ${number.format(tasks)} tasks (sha256 ×${HASH_ROUNDS} and a ${WAIT_MS} ms wait each), ` +
      `${window} at a time (workers run up to ${CONCURRENCY_PER_WEIGHT} × weight at once)`,
  );

  const started = performance.now();
  let finished = started;
  let next = 0;
  let outstanding = 0;
  let killing: Promise<void> | undefined;
  let allDone!: () => void;
  const done = new Promise<void>((resolve) => {
    allDone = resolve;
  });

  const replaceWorker = async (): Promise<void> => {
    const victim = pickVictim(specs);
    const fresh: WorkerSpec = { ...victim, id: `worker-${rows.length + 1}` };
    note(
      `✖ ${victim.id} (weight ${victim.weight}) ${fleet.killVerb} at ` +
        `${number.format(tally.done)}/${number.format(tasks)}; starting ${fresh.id} in its place`,
    );
    await fleet.kill(victim.id);
    const row = rows.find((r) => r.id === victim.id);
    if (row) row.role = 'killed';
    rows.push({ id: fresh.id, weight: fresh.weight, role: 'replacement' });
    await fleet.start(fresh);
  };

  const settle = () => {
    outstanding--;
    if (kill && !killing && tally.done >= Math.ceil(tasks / 2)) {
      killing = replaceWorker().catch((error: unknown) => {
        note(`could not replace the killed worker: ${String(error)}`);
      });
    }
    if (tally.done === tasks) {
      finished = performance.now();
      allDone();
    } else pump();
  };

  const pump = () => {
    while (next < tasks && outstanding < window) {
      const seq = next++;
      const t0 = performance.now();
      outstanding++;
      d.dispatch('digest', {
        seq,
        data: `${namespace}/${seq}`,
        rounds: HASH_ROUNDS,
        waitMs: WAIT_MS,
      }).then(
        (value) => {
          tally.resolved(seq, value, performance.now() - t0);
          settle();
        },
        (error: unknown) => {
          tally.rejected(seq, error, performance.now() - t0);
          settle();
        },
      );
    }
  };

  const unsettled = () => {
    // Should nothing be left to wake the dispatcher, say so rather than exit 0 half done.
    process.stderr.write(`demo: stalled with ${tasks - tally.done} task(s) unsettled\n`);
    process.exitCode = EXIT_FAILED;
  };
  process.once('beforeExit', unsettled);
  progress.start();
  pump();
  await done;
  await killing;
  process.off('beforeExit', unsettled);
  progress.stop();

  const stats = d.stats();
  say();
  for (const line of tally.report(rows, finished - started, stats.redelivered)) say(line);
  say();
  const ok = tally.lost === 0 && tally.duplicates === 0;
  say(
    ok
      ? 'Every task settled exactly once with its own result.'
      : `FAILED: ${tally.lost} task(s) lost, ${tally.duplicates} settled more than once.`,
  );
  await cleanup(false);
  return ok ? EXIT_OK : EXIT_FAILED;
}

function onSignal(signal: 'SIGINT' | 'SIGTERM'): void {
  const code = EXIT_SIGNAL[signal];
  if (cleaning) process.exit(code); // a second signal: the exit hooks still kill every child
  out.write(`\n${signal}: stopping workers and Redis\n`);
  setTimeout(() => process.exit(code), FORCED_EXIT_MS).unref();
  void cleanup(true).finally(() => process.exit(code));
}

async function main(): Promise<number> {
  let command: ReturnType<typeof parseDemoArgs>;
  try {
    command = parseDemoArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`demo: ${error.message} (see --help)\n`);
    return EXIT_USAGE;
  }
  if (command.help) {
    out.write(USAGE);
    return EXIT_OK;
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return run(command.args);
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
    await cleanup(true);
    process.exit(EXIT_FAILED);
  },
);
