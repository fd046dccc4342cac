// One side's CPU per task, measured without the other side's noise. The closed-loop
// bench shares two cores among four busy processes, so its per-process figures
// swing by tens of percent from run to run; these stay within a few percent, which
// is what an A/B of one hot-path change needs.
//
//   tsx scripts/bench/alone.ts --side dispatcher   the dispatcher in this process, against a
//                                                  stub Redis client that answers every task
//                                                  frame with results on the next turn
//   tsx scripts/bench/alone.ts --side worker       one ringcast-worker process (the CLI) on a
//                                                  private redis-server, fed fixed frames
import { EventEmitter } from 'node:events';
import { parseArgs } from 'node:util';
import { createDispatcher, STRATEGY_NAMES, type StrategyName } from '@ringcast/dispatcher';
import {
  CHANGES_SCRIPT,
  decode,
  encodeCompactTask,
  encodeFrame,
  names,
  type WorkerInfo,
} from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { BenchError, cleanup, cpuMeter, startRedis, useLogDir, waitFor } from './harness.js';
import { closedLoop, round, summarize } from './loop.js';
import { startWorkers } from './ringcast.js';

const HELP = `Usage: tsx scripts/bench/alone.ts --side dispatcher|worker [options]

Prints one JSON line per run with the side's CPU µs per task, then the median.

Options:
  --side S      dispatcher (stub Redis client, in this process) or worker (one CLI worker)
  --n N         tasks per run (default 300000)
  --w W         tasks in flight (default: dispatcher 1000, worker 200 = its capacity)
  --frame B     tasks per frame fed to the worker (default 200)
  --runs R      runs (default 3)
  --strategy S  dispatcher side: the selection strategy (default weighted-round-robin);
                consistent-hash routes every task by a key
  --keys        dispatcher side: every task carries a key, whatever the strategy (to tell the
                cost of passing options from the cost of hashing them)
  --profile DIR worker side: the worker writes a V8 CPU profile per run into DIR (its main
                thread's is the file whose thread field is 0; the heartbeat thread writes one too)
                (read it with scripts/bench/profile-top.ts); for the dispatcher side,
                run this script under node --cpu-prof instead
  -h, --help    this text`;

const PAYLOAD = { i: 0, d: 'x'.repeat(64) };
const WORKER_CONCURRENCY = 100;
/** concurrency + the default maxQueue: more in flight would be refused BUSY. */
const WORKER_CAPACITY = 2 * WORKER_CONCURRENCY;

interface Run {
  side: string;
  strategy?: StrategyName;
  n: number;
  w: number;
  tasksPerSec: number;
  cpuUsPerTask: number;
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value.replaceAll('_', ''));
  if (!Number.isInteger(n) || n < 1) throw new BenchError(`--${name} must be a positive integer`);
  return n;
}

/** A Redis client stand-in: registry reads list two workers; publishes to them are echoed. */
class StubRedis extends EventEmitter {
  readonly status = 'ready';
  readonly #names = names('alone');
  readonly #workers: WorkerInfo[] = ['a1', 'a2'].map((id) => ({
    id,
    incarnation: `inc-${id}`,
    weight: 1,
    concurrency: WORKER_CONCURRENCY,
    maxQueue: WORKER_CONCURRENCY,
    heartbeatTtlMs: 3000,
    maxMessageBytes: 1024 * 1024,
    handlers: ['echo'],
    host: 'stub',
    pid: 0,
    version: '0',
    startedAt: 0,
  }));
  #subscriber: StubRedis | undefined;

  duplicate(): StubRedis {
    this.#subscriber = new StubRedis();
    return this.#subscriber;
  }
  async connect(): Promise<void> {}
  async subscribe(): Promise<number> {
    return 2;
  }
  async hgetall(): Promise<Record<string, string>> {
    return Object.fromEntries(this.#workers.map((w) => [w.id, JSON.stringify(w)]));
  }
  async mget(keys: string[]): Promise<string[]> {
    return keys.map((key) => this.#workers.find((w) => key.endsWith(`:${w.id}`))!.incarnation);
  }
  async pubsub(): Promise<unknown[]> {
    return [];
  }
  /** Start's check that no live process serves the dispatcher's id: no heartbeat here. */
  async exists(): Promise<number> {
    return 0;
  }

  /**
   * The parked-replies read at start (nothing is ever parked here) and the
   * dispatcher's owner heartbeat (durable tasks), answered as Redis would.
   */
  multi() {
    const replies: Array<[null, unknown]> = [];
    const answer = (reply: unknown) => () => {
      replies.push([null, reply]);
      return chain;
    };
    const chain = {
      lrange: answer([]),
      del: answer(0),
      hset: answer(1),
      set: answer('OK'),
      exec: async () => replies,
    };
    return chain;
  }
  /** The durable store's scripts (claim, leave): no durable task is ever stored here. */
  async evalsha(): Promise<unknown[]> {
    return [];
  }
  /** The registry tick (nothing ever changes here, nothing lapses), or a store script. */
  async eval(script: string): Promise<unknown[]> {
    return script === CHANGES_SCRIPT ? [0, 0, Date.now(), [], [], null] : [];
  }
  async quit(): Promise<string> {
    return 'OK';
  }
  disconnect(): void {}

  publish(channel: string, frame: string): Promise<number> {
    const worker = this.#workers.find((w) => channel === this.#names.workerChannel(w.id));
    const decoded = worker ? decode(frame) : undefined;
    if (worker && decoded?.ok) {
      const results: string[] = [];
      let replyTo = '';
      for (const task of decoded.messages) {
        if (task.kind !== 'task') continue;
        replyTo = task.replyTo;
        results.push(
          `[4,${JSON.stringify(task.id)},${JSON.stringify(task.token)},${JSON.stringify(task.payload)}]`,
        );
      }
      const reply = encodeFrame(results, { worker: worker.id, incarnation: worker.incarnation });
      const channelBack = this.#names.replyChannel(replyTo);
      setImmediate(() => this.#subscriber!.emit('message', channelBack, reply));
    }
    return Promise.resolve(1);
  }
}

/** Keys consistent-hash routes by, made before the clock starts. */
const KEYS = Array.from({ length: 10_000 }, (_, k) => `key-${k}`);

async function dispatcherAlone(
  n: number,
  w: number,
  strategy: StrategyName,
  keyed: boolean,
): Promise<Run> {
  const quiet = {
    info() {},
    warn: (m: string) => console.error(m),
    error: (m: string) => console.error(m),
  };
  const dispatcher = createDispatcher({
    redis: new StubRedis() as never,
    namespace: 'alone',
    timeoutMs: 60_000,
    logger: quiet,
    strategy,
  });
  await dispatcher.start();
  try {
    const send =
      keyed || strategy === 'consistent-hash'
        ? (i: number) =>
            dispatcher.dispatch('echo', { ...PAYLOAD, i }, { key: KEYS[i % KEYS.length] })
        : (i: number) => dispatcher.dispatch('echo', { ...PAYLOAD, i });
    await closedLoop({ n: Math.min(50_000, n), w, send, label: 'warm-up' });
    const before = process.cpuUsage();
    const result = await closedLoop({ n, w, send, label: 'dispatcher alone' });
    const cpu = process.cpuUsage(before);
    if (result.errors > 0) throw new BenchError(`dispatcher alone: ${result.firstError}`);
    return {
      side: 'dispatcher (stub included)',
      strategy,
      n,
      w,
      tasksPerSec: summarize(result).tasksPerSec,
      cpuUsPerTask: round((cpu.user + cpu.system) / n, 2),
    };
  } finally {
    await dispatcher.close();
  }
}

async function workerAlone(
  url: string,
  n: number,
  w: number,
  frameSize: number,
  profileDir: string | undefined,
): Promise<Run> {
  if (w > WORKER_CAPACITY) {
    throw new BenchError(`--w may not exceed the worker's capacity of ${WORKER_CAPACITY}`);
  }
  const namespace = `alone-${Date.now()}`;
  const ns = names(namespace);
  const nodeArgs = profileDir
    ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-interval', '50']
    : [];
  const [child] = startWorkers(
    url,
    namespace,
    [{ id: 'alone', concurrency: WORKER_CONCURRENCY }],
    nodeArgs,
  );
  const pub = new Redis(url);
  const sub = new Redis(url);
  try {
    let answered = 0;
    let onAnswer = (): void => {};
    sub.on('message', (_channel: string, data: string) => {
      const decoded = decode(data);
      if (!decoded.ok) return;
      for (const m of decoded.messages) if (m.kind === 'result') answered++;
      onAnswer();
    });
    await sub.subscribe(ns.replyChannel('feeder'));
    await waitFor(async () => (await pub.hlen(ns.registryKey)) > 0, 20_000, 'the worker', [
      child!.died,
    ]);
    const payload = JSON.stringify(PAYLOAD);
    const channel = ns.workerChannel('alone');
    // Task ids shaped like a dispatcher's (8 characters of incarnation, then a
    // base-36 counter), and past 10 characters as most of its are: JSON.parse
    // interns shorter strings, at ~0.2 us each when every one is new.
    let seq = 36 ** 3;
    const frame = (): string => {
      const deadline = Date.now() + 60_000;
      const parts: string[] = [];
      for (let k = 0; k < frameSize; k++) {
        parts.push(
          encodeCompactTask(`feederXy${(seq++).toString(36)}`, 1, 'echo', deadline, payload),
        );
      }
      return encodeFrame(parts, { replyTo: 'feeder' });
    };
    const feed = (total: number) =>
      new Promise<void>((resolve, reject) => {
        const start = answered;
        let sent = 0;
        let last = Date.now();
        const stall = setInterval(() => {
          if (Date.now() - last > 10_000) reject(new BenchError('worker alone: no answer in 10 s'));
        }, 1000);
        onAnswer = () => {
          last = Date.now();
          while (sent - (answered - start) + frameSize <= w && sent < total) {
            void pub.publish(channel, frame());
            sent += frameSize;
          }
          if (answered - start >= sent && sent >= total) {
            clearInterval(stall);
            resolve();
          }
        };
        onAnswer();
      });
    await Promise.race([feed(Math.min(20_000, n)), child!.died]);
    const cpu = cpuMeter({ worker: [child!.process.pid ?? -1] });
    const started = performance.now();
    await Promise.race([feed(n), child!.died]);
    const elapsed = performance.now() - started;
    return {
      side: 'worker',
      n,
      w,
      tasksPerSec: round((n / elapsed) * 1000, 0),
      cpuUsPerTask: cpu(n)['worker']!,
    };
  } finally {
    pub.disconnect();
    sub.disconnect();
    await child!.stop();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: 'boolean', short: 'h' },
      side: { type: 'string' },
      n: { type: 'string' },
      w: { type: 'string' },
      frame: { type: 'string' },
      runs: { type: 'string' },
      profile: { type: 'string' },
      strategy: { type: 'string' },
      keys: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const side = values.side;
  if (side !== 'dispatcher' && side !== 'worker') {
    throw new BenchError('--side must be dispatcher or worker (see --help)');
  }
  const n = positive('n', values.n, 300_000);
  const w = positive('w', values.w, side === 'dispatcher' ? 1000 : WORKER_CAPACITY);
  const frameSize = positive('frame', values.frame, 200);
  const runs = positive('runs', values.runs, 3);
  const strategy = (values.strategy ?? 'weighted-round-robin') as StrategyName;
  if (!(STRATEGY_NAMES as readonly string[]).includes(strategy)) {
    throw new BenchError(`--strategy must be one of ${STRATEGY_NAMES.join(', ')}`);
  }
  if (side === 'worker' && frameSize > w) throw new BenchError('--frame may not exceed --w');
  let url = '';
  if (side === 'worker') {
    useLogDir(undefined);
    url = (await startRedis()).url;
  }
  const results: Run[] = [];
  for (let r = 0; r < runs; r++) {
    const run =
      side === 'dispatcher'
        ? await dispatcherAlone(n, w, strategy, values.keys ?? false)
        : await workerAlone(url, n, w, frameSize, values.profile);
    results.push(run);
    console.log(JSON.stringify(run));
  }
  const median = (pick: (r: Run) => number) =>
    results.map(pick).sort((a, b) => a - b)[Math.floor((results.length - 1) / 2)]!;
  console.log(
    JSON.stringify({
      median: true,
      side,
      ...(side === 'dispatcher' ? { strategy } : {}),
      runs,
      tasksPerSec: median((r) => r.tasksPerSec),
      cpuUsPerTask: median((r) => r.cpuUsPerTask),
    }),
  );
  return 0;
}

main().then(
  async (code) => {
    await cleanup(code !== 0);
    process.exit(code);
  },
  async (error: unknown) => {
    const known =
      error instanceof BenchError ||
      String((error as { code?: unknown })?.code).startsWith('ERR_PARSE_ARGS');
    process.stderr.write(
      `alone: ${known ? (error as Error).message : ((error as Error).stack ?? String(error))}\n`,
    );
    await cleanup(true);
    process.exit(known ? 2 : 1);
  },
);
