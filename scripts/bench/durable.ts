// The durable scenario: ringcast's durable tasks against BullMQ, in one run on one Redis with AOF
// (`appendfsync everysec`). Both sides "add a task and wait for its completion" as their users
// would: ringcast `dispatch(…, { durable: true })`; BullMQ `Queue.add` and the job's 'completed'
// event from `QueueEvents`. Both run the echo handler in two worker processes of concurrency 100,
// and both are measured with the closed loop of every scenario. Redis memory per task is measured
// apart: N tasks stored while no worker runs, then the same N once every one finished.
import { fileURLToPath } from 'node:url';
import { createDispatcher, type Dispatcher } from '@ringcast/dispatcher';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { bullmqConnection } from './bullmq-connection.js';
import {
  BenchError,
  type Child,
  cpuMeter,
  spawnChild,
  tail,
  waitFor,
  withTimeout,
} from './harness.js';
import { closedLoop, type Send, type Summary, summarize } from './loop.js';
import { closeDispatcher, readyDispatcher, startWorkers } from './ringcast.js';

/** The persistence the scenario's private redis-server runs with. */
export const DURABLE_REDIS_ARGS = ['--appendonly', 'yes', '--appendfsync', 'everysec'];
export const DURABLE_PERSISTENCE = 'AOF, appendfsync everysec';

const BULLMQ_WORKER = fileURLToPath(new URL('./bullmq-worker.ts', import.meta.url));
const WORKERS = 2;
/** How long the memory measurement waits for N stored tasks to finish. */
const DRAIN_MS = 300_000;

export type DurableSystem = 'ringcast' | 'bullmq';

export interface DurableOptions {
  url: string;
  /** Unique to this run: ringcast's namespaces and BullMQ's queue names start with it. */
  prefix: string;
  w: number;
  n: number;
  warmup: number;
  repeat: number;
  concurrency: number;
  payload: (i: number) => unknown;
  check: (i: number, value: unknown) => boolean;
  /** Node arguments of ringcast's worker processes (profiling). */
  nodeArgs: string[];
  /** pids of the redis-server, for its CPU per task (none with REDIS_URL). */
  redisPids: number[];
  progress: (line: string) => void;
}

/** Redis's own bytes (INFO used_memory) per task, stored waiting and once finished. */
export interface RedisMemory {
  tasks: number;
  /** (used_memory with N tasks waiting − before) / N */
  bytesPerStoredTask: number;
  /** (used_memory once the N finished, records kept − before) / N */
  bytesPerFinishedRecord: number;
}

export interface DurableRun extends Summary {
  /** Commands Redis ran per task (INFO commandstats; a script's own calls count too). */
  redisCallsPerTask: Record<string, number>;
}

export interface DurableResult {
  runs: Record<DurableSystem, DurableRun[]>;
  memory: Record<DurableSystem, RedisMemory>;
}

/** One system's side: how to measure its memory, and how to start its workers and send tasks. */
interface Side {
  memory(): Promise<RedisMemory>;
  start(): Promise<{ send: Send; workers: Child[]; close(): Promise<void> }>;
}

export async function runDurable(options: DurableOptions): Promise<DurableResult> {
  const admin = new Redis(options.url);
  try {
    const sides: Record<DurableSystem, Side> = {
      bullmq: bullmqSide(options, admin),
      ringcast: ringcastSide(options, admin),
    };
    const memory = {} as Record<DurableSystem, RedisMemory>;
    for (const system of ['bullmq', 'ringcast'] as const) {
      memory[system] = await sides[system].memory();
      options.progress(`durable ${system} memory: ${JSON.stringify(memory[system])}`);
    }
    const runs: Record<DurableSystem, DurableRun[]> = { bullmq: [], ringcast: [] };
    const started = {} as Record<DurableSystem, Awaited<ReturnType<Side['start']>>>;
    try {
      for (const system of ['bullmq', 'ringcast'] as const) {
        started[system] = await sides[system].start();
      }
      // Interleaved per repeat, so that the machine's drift hits both alike.
      for (let rep = 0; rep < options.repeat; rep++) {
        for (const system of ['bullmq', 'ringcast'] as const) {
          const run = await measure(options, admin, system, started[system]);
          options.progress(
            `durable ${system}: ${run.tasksPerSec} tasks/s, p50 ${run.p50} ms, p99 ${run.p99} ms`,
          );
          runs[system].push(run);
        }
      }
    } finally {
      for (const side of Object.values(started)) await side.close();
    }
    return { runs, memory };
  } finally {
    await admin.quit();
  }
}

async function measure(
  options: DurableOptions,
  admin: Redis,
  system: DurableSystem,
  side: { send: Send; workers: Child[] },
): Promise<DurableRun> {
  const { w, n, check } = options;
  const label = `${system} durable W=${w}`;
  const abort = side.workers.map((c) => c.died);
  await closedLoop({ n: options.warmup, w, send: side.send, label, abort });
  const before = await commandStats(admin);
  const cpu = cpuMeter({
    bench: [process.pid],
    workers: side.workers.map((c) => c.process.pid ?? -1),
    redis: options.redisPids,
  });
  const result = await closedLoop({ n, w, send: side.send, check, label, abort });
  const cpuUsPerTask = cpu(n);
  const after = await commandStats(admin);
  if (result.firstError) options.progress(`${label}: ${result.firstError}`);
  return {
    ...summarize(result),
    cpuUsPerTask,
    redisCallsPerTask: callsPerTask(before, after, n),
  };
}

// ── ringcast ──────────────────────────────────────────────────────────────────────

function ringcastSide(options: DurableOptions, admin: Redis): Side {
  const { url, prefix, concurrency, nodeArgs } = options;
  const ids = Array.from({ length: WORKERS }, (_, k) => `durable-${k + 1}`);
  const specs = ids.map((id) => ({ id, concurrency }));
  return {
    async memory() {
      const namespace = `${prefix}-rc-mem`;
      const dispatcher = createDispatcher({ redis: url, namespace, logger: false });
      await dispatcher.start();
      let workers: Child[] = [];
      try {
        return await measureMemory(options, admin, {
          add: (i) => dispatcher.submit('echo', options.payload(i)),
          startWorkers: async () => {
            workers = startWorkers(url, namespace, specs, nodeArgs);
          },
          drained: async (taskIds) => {
            await Promise.all(taskIds.map((id) => dispatcher.result(id, { timeoutMs: DRAIN_MS })));
          },
        });
      } finally {
        await dispatcher.close();
        await Promise.all(workers.map((c) => c.stop()));
        await unlinkMatching(admin, `${namespace}:*`);
      }
    },
    async start() {
      const namespace = `${prefix}-rc`;
      const workers = startWorkers(url, namespace, specs, nodeArgs);
      let dispatcher: Dispatcher;
      try {
        dispatcher = await readyDispatcher(url, namespace, ids, workers);
      } catch (error) {
        await Promise.all(workers.map((c) => c.stop()));
        throw error;
      }
      return {
        send: (i) => dispatcher.dispatch('echo', options.payload(i), { durable: true }),
        workers,
        async close() {
          await closeDispatcher(dispatcher);
          await Promise.all(workers.map((c) => c.stop()));
          await unlinkMatching(admin, `${namespace}:*`);
        },
      };
    },
  };
}

// ── BullMQ ────────────────────────────────────────────────────────────────────────

function bullmqSide(options: DurableOptions, admin: Redis): Side {
  const { url, prefix, concurrency } = options;
  const connection = bullmqConnection(url);
  return {
    async memory() {
      const name = `${prefix}-bull-mem`;
      const queue = new Queue(name, { connection });
      let workers: Child[] = [];
      try {
        await queue.waitUntilReady();
        return await measureMemory(options, admin, {
          add: async (i) => (await queue.add('echo', options.payload(i))).id ?? '',
          startWorkers: async () => {
            workers = await startBullmqWorkers(url, name, concurrency);
          },
          drained: (jobIds) =>
            waitFor(
              async () => (await queue.getCompletedCount()) >= jobIds.length,
              DRAIN_MS,
              `BullMQ to complete ${jobIds.length} jobs`,
              workers.map((c) => c.died),
            ),
        });
      } finally {
        await queue.close();
        await Promise.all(workers.map((c) => c.stop()));
        await unlinkMatching(admin, `bull:${name}:*`);
      }
    },
    async start() {
      const name = `${prefix}-bull`;
      const queue = new Queue(name, { connection });
      // From the stream's start: the queue is new, and no completion may be missed.
      const events = new QueueEvents(name, { connection, lastEventId: '0-0' });
      const waiters = new Map<string, Waiter>();
      // A completion read before its add() returned (possible in principle: two connections).
      const early = new Map<string, Outcome>();
      const settle = (jobId: string, outcome: Outcome) => {
        const waiter = waiters.get(jobId);
        if (!waiter) {
          early.set(jobId, outcome);
          return;
        }
        waiters.delete(jobId);
        if (outcome.ok) waiter.resolve(outcome.value);
        else waiter.reject(new Error(outcome.reason));
      };
      events.on('completed', ({ jobId, returnvalue }) =>
        settle(jobId, { ok: true, value: returnvalue }),
      );
      events.on('failed', ({ jobId, failedReason }) =>
        settle(jobId, { ok: false, reason: failedReason }),
      );
      let workers: Child[] = [];
      try {
        await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
        workers = await startBullmqWorkers(url, name, concurrency);
      } catch (error) {
        await Promise.all([queue.close(), events.close(), ...workers.map((c) => c.stop())]);
        throw error;
      }
      const send: Send = async (i) => {
        const job = await queue.add('echo', options.payload(i));
        const id = job.id ?? '';
        const known = early.get(id);
        if (known) {
          early.delete(id);
          if (known.ok) return known.value;
          throw new Error(known.reason);
        }
        return new Promise((resolve, reject) => waiters.set(id, { resolve, reject }));
      };
      return {
        send,
        workers,
        async close() {
          await Promise.all(workers.map((c) => c.stop()));
          await Promise.all([queue.close(), events.close()]);
          await unlinkMatching(admin, `bull:${name}:*`);
        },
      };
    },
  };
}

interface Waiter {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; reason: string };

/** Starts BullMQ worker processes on `queue` and waits until each is connected. */
async function startBullmqWorkers(url: string, queue: string, concurrency: number) {
  const children = Array.from({ length: WORKERS }, (_, k) =>
    spawnChild(`bullmq-${queue}-${k + 1}`, process.execPath, [
      '--import',
      'tsx',
      BULLMQ_WORKER,
      '--redis',
      url,
      '--queue',
      queue,
      '--concurrency',
      String(concurrency),
    ]),
  );
  try {
    await waitFor(
      () => children.every((c) => tail(c.log, 5).includes('ready')),
      20_000,
      'the BullMQ workers to connect',
      children.map((c) => c.died),
    );
  } catch (error) {
    await Promise.all(children.map((c) => c.stop()));
    throw error;
  }
  return children;
}

// ── Redis: memory, command counts, cleanup ─────────────────────────────────────────

interface MemoryProbe {
  /** Stores task `i` while no worker runs; resolves with its id. */
  add(i: number): Promise<string>;
  startWorkers(): Promise<void>;
  /** Resolves once every task of `ids` finished. */
  drained(ids: string[]): Promise<void>;
}

/** used_memory before, with N tasks waiting, and with the N finished (their records kept). */
async function measureMemory(
  options: DurableOptions,
  admin: Redis,
  probe: MemoryProbe,
): Promise<RedisMemory> {
  const { n, w } = options;
  const ids: string[] = new Array(n);
  const before = await usedMemory(admin);
  const label = 'durable memory';
  const loop = await closedLoop({
    n,
    w,
    label,
    send: async (i) => {
      ids[i] = await probe.add(i);
    },
  });
  if (loop.errors > 0) throw new BenchError(`${label}: ${loop.firstError}`);
  const stored = await usedMemory(admin);
  await probe.startWorkers();
  await withTimeout(probe.drained(ids), DRAIN_MS, `${n} stored tasks to finish`);
  const finished = await usedMemory(admin);
  return {
    tasks: n,
    bytesPerStoredTask: Math.round((stored - before) / n),
    bytesPerFinishedRecord: Math.round((finished - before) / n),
  };
}

async function usedMemory(admin: Redis): Promise<number> {
  const info = await admin.info('memory');
  const match = /^used_memory:(\d+)/m.exec(info);
  if (!match) throw new BenchError('INFO memory has no used_memory');
  return Number(match[1]);
}

/** Calls per command so far (INFO commandstats). */
async function commandStats(admin: Redis): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const match of (await admin.info('commandstats')).matchAll(
    /^cmdstat_([^:]+):calls=(\d+)/gm,
  )) {
    calls.set(match[1]!, Number(match[2]));
  }
  return calls;
}

/** Commands per task between two readings, those of at least 0.01 a task, most first. */
function callsPerTask(
  before: Map<string, number>,
  after: Map<string, number>,
  n: number,
): Record<string, number> {
  const rows: Array<[string, number]> = [];
  for (const [command, calls] of after) {
    const perTask = Math.round(((calls - (before.get(command) ?? 0)) / n) * 100) / 100;
    if (perTask >= 0.01) rows.push([command, perTask]);
  }
  return Object.fromEntries(rows.sort((a, b) => b[1] - a[1]));
}

/** Deletes every key matching `pattern` (this run's own names only). */
async function unlinkMatching(admin: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await admin.unlink(...keys);
  } while (cursor !== '0');
}
