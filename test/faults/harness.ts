import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDispatcher, type Dispatcher, type DispatcherOptions } from '@ringcast/dispatcher';
import { Redis } from 'ioredis';
import {
  type DispatcherProcess,
  type SpawnDispatcherOptions,
  spawnDispatcher,
} from '../support/dispatcher-process.js';
import { uniqueNamespace } from '../support/redis.js';
import { type RedisCluster, type RedisServer, startRedisServer } from '../support/redis-server.js';
import { track } from '../support/track.js';
import { type SpawnWorkerOptions, spawnWorker, type WorkerProcess } from '../support/workers.js';
import { Ledger } from './ledger.js';

export const LEDGER_HANDLERS = fileURLToPath(
  new URL('../fixtures/ledger-handlers.js', import.meta.url),
);

/** Tasks per scenario: RINGCAST_FAULT_TASKS, at least 2,000 by default. */
// biome-ignore lint/suspicious/noUndeclaredEnvVars: set by scripts/faults.ts, read by vitest
export const TASKS = Math.max(1, Number(process.env['RINGCAST_FAULT_TASKS'] ?? 2000) || 2000);

/** Dispatch rate of the feeder; a scenario lasts about TASKS / RATE seconds, long enough for its faults. */
export const RATE_PER_SEC = 800;

/** Per scenario: the feed, the faults, the drain and the teardown. */
export const SCENARIO_TIMEOUT_MS = 120_000 + (TASKS / RATE_PER_SEC) * 4_000;

/** Dispatcher settings shared by every scenario: short enough that a 2-core machine runs all twelve in minutes. */
export const DISPATCHER_DEFAULTS = {
  reconcileIntervalMs: 100,
  ackTimeoutMs: 2_000,
  timeoutMs: 20_000,
  maxAttempts: 3,
  leaveGraceMs: 2_000,
  drainTimeoutMs: 2_000,
} satisfies DispatcherOptions;

export const HEARTBEAT_INTERVAL_MS = 200;
export const HEARTBEAT_TTL_MS = 1_000;

/**
 * For scenarios whose fault is not about worker liveness: a TTL a loaded 2-core machine
 * cannot outlast by accident, so "exactly one run" tests the claim, not the scheduler.
 */
export const CALM = { heartbeatTtlMs: 3_000 };
/** Attempt limit of the scenarios that kill workers over and over. */
export const KILL_ATTEMPTS = 5;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `condition` every 10 ms; throws `what` after `timeoutMs`. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Everything one scenario runs on: its own redis-server, namespace, run-log directory and processes. */
export class Scenario {
  readonly name: string;
  readonly #redis: RedisServer | undefined;
  /** On a Redis Cluster (cluster tests): shared by the file's scenarios, so never stopped here. */
  readonly cluster: RedisCluster | undefined;
  readonly ns: string;
  readonly runLogDir: string;
  readonly ledger: Ledger;
  /** Current process per worker id (a restarted worker replaces its entry). */
  readonly workers = new Map<string, WorkerProcess>();
  readonly #processes: WorkerProcess[] = [];
  readonly #dispatchers: Dispatcher[] = [];
  readonly #dispatcherProcesses: DispatcherProcess[] = [];
  readonly #clients: Redis[] = [];
  /** Dispatcher log lines, shown when a scenario fails. */
  readonly logs: string[] = [];

  private constructor(
    name: string,
    redis: RedisServer | undefined,
    cluster?: RedisCluster,
    ns = uniqueNamespace(),
  ) {
    this.name = name;
    this.ns = ns;
    this.#redis = redis;
    this.cluster = cluster;
    this.runLogDir = mkdtempSync(join(tmpdir(), 'ringcast-runs-'));
    this.ledger = new Ledger(name, this.runLogDir);
  }

  /** `persist`: Redis keeps its data directory across `s.redis.restart()` (for AOF). */
  static async start(name: string, redisArgs: string[] = [], persist = false): Promise<Scenario> {
    return new Scenario(name, await startRedisServer({ args: redisArgs, persist }));
  }

  /** A scenario on `cluster`, which the caller started and stops; in namespace `ns` if given. */
  static onCluster(name: string, cluster: RedisCluster, ns?: string): Scenario {
    return new Scenario(name, undefined, cluster, ns);
  }

  /** The scenario's redis-server; there is none on a cluster. */
  get redis(): RedisServer {
    if (!this.#redis)
      throw new Error(`scenario ${this.name} runs on a cluster, not a redis-server`);
    return this.#redis;
  }

  /** The `redis` option of the scenario's dispatchers. */
  get redisOption(): DispatcherOptions['redis'] {
    const cluster = this.cluster;
    return cluster ? { cluster: [...cluster.startupNodes] } : this.redis.url;
  }

  get dispatchers(): readonly Dispatcher[] {
    return this.#dispatchers;
  }

  async worker(
    id: string,
    options: Partial<SpawnWorkerOptions> = {},
    waitReady = true,
  ): Promise<WorkerProcess> {
    const cluster = this.cluster;
    const w = await spawnWorker({
      ...(cluster
        ? { url: '', cluster: { spec: cluster.spec, nodes: cluster.startupNodes } }
        : { url: this.redis.url }),
      namespace: this.ns,
      id,
      handlers: LEDGER_HANDLERS,
      concurrency: 16,
      heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
      heartbeatTtlMs: HEARTBEAT_TTL_MS,
      drainTimeoutMs: 1_000,
      ...options,
      env: { RINGCAST_RUN_LOG_DIR: this.runLogDir, ...options.env },
      waitReady,
    });
    this.workers.set(id, w);
    this.#processes.push(w);
    return w;
  }

  /** Worker processes w1, w2 and w3, each with `options`. */
  threeWorkers(options: Partial<SpawnWorkerOptions> = {}): Promise<WorkerProcess[]> {
    return Promise.all(['w1', 'w2', 'w3'].map((id) => this.worker(id, options)));
  }

  async dispatcher(options: DispatcherOptions = {}): Promise<Dispatcher> {
    const tag = `${this.name.split(' ')[0]}`;
    const d = track(
      createDispatcher({
        redis: this.redisOption,
        namespace: this.ns,
        ...DISPATCHER_DEFAULTS,
        logger: {
          info: (m) => this.logs.push(`[${tag}] info ${m}`),
          warn: (m) => this.logs.push(`[${tag}] warn ${m}`),
          error: (m) => this.logs.push(`[${tag}] error ${m}`),
        },
        ...options,
      }),
    );
    await d.start();
    this.#dispatchers.push(d);
    return d;
  }

  /**
   * A dispatcher in a process of its own (test/fixtures/durable-dispatcher.js) with the
   * scenarios' settings, writing its promise log `<name>.promises` to the run-log directory.
   */
  async dispatcherProcess(
    name: string,
    options: Partial<SpawnDispatcherOptions> = {},
  ): Promise<DispatcherProcess> {
    const p = await spawnDispatcher({
      url: this.redis.url,
      namespace: this.ns,
      log: join(this.runLogDir, `${name}.promises`),
      ...options,
      options: { ...DISPATCHER_DEFAULTS, ...options.options },
    });
    this.#dispatcherProcesses.push(p);
    return p;
  }

  get dispatcherProcesses(): readonly DispatcherProcess[] {
    return this.#dispatcherProcesses;
  }

  /** A plain client for fault injection (CLIENT KILL, CONFIG SET, raw PUBLISH). */
  client(): Redis {
    const c = track(new Redis(this.redis.url, { maxRetriesPerRequest: null }));
    c.on('error', () => undefined);
    this.#clients.push(c);
    return c;
  }

  /** Waits until `d` sees `n` healthy workers. */
  async routable(d: Dispatcher, n: number, timeoutMs = 10_000): Promise<void> {
    await until(
      () => d.workers().filter((w) => w.healthy).length >= n,
      timeoutMs,
      `${n} healthy workers (saw ${JSON.stringify(d.workers().map((w) => [w.id, w.healthy]))})`,
    );
  }

  /**
   * Dispatches `count` tasks keyed `<prefix><i>`, spread evenly over the run at
   * {@link RATE_PER_SEC}; resolves once the last is dispatched (not settled).
   */
  async feed(
    d: Dispatcher,
    count: number,
    opts: {
      prefix?: string;
      rate?: number;
      payload?: (i: number) => { ms?: number; pad?: string };
      timeoutMs?: (i: number) => number;
      via?: string;
      onTick?: (dispatched: number) => void;
    } = {},
  ): Promise<void> {
    const rate = opts.rate ?? RATE_PER_SEC;
    const prefix = opts.prefix ?? '';
    const payload = opts.payload ?? ((i: number) => ({ ms: 5 + (i % 4) * 5 }));
    const started = Date.now();
    let i = 0;
    while (i < count) {
      const due = Math.min(count, Math.ceil(((Date.now() - started) / 1000) * rate) + 1);
      for (; i < due; i++) {
        const options = opts.timeoutMs ? { timeoutMs: opts.timeoutMs(i) } : undefined;
        void this.ledger.dispatch(d, `${prefix}${i}`, payload(i), options, opts.via);
      }
      opts.onTick?.(i);
      await sleep(10);
    }
  }

  /** The Redis CLIENT LIST entries whose name is `name`, as field maps. */
  async clients(name: string): Promise<Array<Record<string, string>>> {
    const c = this.#clients[0] ?? this.client();
    const list = (await c.call('CLIENT', 'LIST')) as string;
    return list
      .split('\n')
      .filter(Boolean)
      .map((line) =>
        Object.fromEntries(
          line.split(' ').map((kv) => {
            const at = kv.indexOf('=');
            return [kv.slice(0, at), kv.slice(at + 1)];
          }),
        ),
      )
      .filter((f) => f['name'] === name);
  }

  /** Id of the subscriber connection (the one with subscriptions) named `name`. */
  async subscriberId(name: string): Promise<string | undefined> {
    const found = (await this.clients(name)).find((f) => Number(f['sub'] ?? 0) > 0);
    return found?.['id'];
  }

  /** Processes that died without being killed by the scenario. */
  unexpectedExits(killed: ReadonlySet<WorkerProcess> = new Set()): string[] {
    return this.#processes
      .filter((w) => !killed.has(w) && (w.child.exitCode !== null || w.child.signalCode !== null))
      .map((w) => `${w.id} (pid ${w.pid}) exited: ${w.output().slice(-2000)}`);
  }

  /** SIGKILLs every worker process; their run logs are final after that. */
  async killWorkers(): Promise<void> {
    await Promise.all(this.#processes.map((w) => w.kill('SIGKILL')));
  }

  /**
   * Kills and restarts worker `w<n>` in turn every `everyMs`, while `going()` holds and
   * for at least three rounds; resolves with the processes it killed.
   */
  async workerKillLoop(everyMs: number, going: () => boolean): Promise<Set<WorkerProcess>> {
    const killed = new Set<WorkerProcess>();
    for (let round = 0; going() || round < 3; round++) {
      await sleep(everyMs);
      const id = `w${(round % 3) + 1}`;
      const victim = this.workers.get(id)!;
      killed.add(victim);
      await victim.kill('SIGKILL');
      await this.worker(id, {}, false);
    }
    return killed;
  }

  /** Stops everything this scenario started. */
  async close(): Promise<void> {
    await Promise.all(this.#dispatcherProcesses.map((p) => p.kill('SIGKILL')));
    await this.killWorkers();
    for (const d of this.#dispatchers) await d.close().catch(() => undefined);
    for (const c of this.#clients) c.disconnect();
    await this.#redis?.stop();
  }

  removeRunLogs(): void {
    rmSync(this.runLogDir, { recursive: true, force: true });
  }
}
