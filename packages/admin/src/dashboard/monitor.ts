/**
 * The dashboard's watch over one deployment. Every second it reads the
 * cluster view, takes a history sample and publishes a snapshot; ten times a
 * second it probes the watched workers' heartbeats and reads again at once
 * when a worker's state would change; a hello or leave on the control channel
 * makes it read at once too. Reads that fail mark Redis down (the snapshot
 * says so, the last figures stay) until one succeeds. It only reads Redis.
 */
import {
  closeConnection,
  describeRedis,
  errorMessage,
  names,
  redactUrl,
  type TlsMaterial,
} from '@ringcast/protocol';
import type { Redis } from 'ioredis';
import { type ClusterView, readClusterView } from '../cluster-view.js';
import { FleetRates } from './fleet-rates.js';
import { probeHeartbeats } from './heartbeat-probe.js';
import { HISTORY_INTERVAL_MS, History } from './history.js';
import { openReader, openSubscriber, READ_TIMEOUT_MS, readyWithin } from './live-connection.js';
import { dashboardSnapshot, durableActivity } from './snapshot.js';
import type { DashboardHistory, DashboardSnapshot, HistorySample, RedisStatus } from './wire.js';
import { WorkerStates } from './worker-states.js';

/** How often watched heartbeats are probed between reads. */
export const PROBE_INTERVAL_MS = 100;

export interface MonitorOptions {
  /** The Redis URL (credentials are masked wherever it is shown). */
  redis: string;
  /** The startup nodes of a Redis Cluster: `redis` is then unused. */
  cluster?: ReadonlyArray<{ host: string; port: number }> | undefined;
  /** Certificates for a `rediss://` URL, over Node's defaults. */
  tls?: TlsMaterial | undefined;
  namespace: string;
  /** Where the monitor says that Redis went away or came back; one line each. */
  log?: (line: string, level: 'info' | 'warn') => void;
  /** @defaultValue {@link HISTORY_INTERVAL_MS} */
  refreshIntervalMs?: number;
  /** @defaultValue {@link PROBE_INTERVAL_MS} */
  probeIntervalMs?: number;
}

export interface MonitorListener {
  snapshot?(snapshot: DashboardSnapshot): void;
  sample?(sample: HistorySample): void;
}

export class Monitor {
  readonly #namespace: string;
  readonly #log: (line: string, level: 'info' | 'warn') => void;
  readonly #refreshIntervalMs: number;
  readonly #probeIntervalMs: number;
  readonly #url: string;
  readonly #cluster: ReadonlyArray<{ host: string; port: number }> | undefined;
  readonly #tls: TlsMaterial | undefined;
  /** Opened by start(). */
  #connections: { reader: Redis; subscriber: Redis } | undefined;
  readonly #states = new WorkerStates();
  readonly #rates = new FleetRates();
  readonly #history = new History();
  readonly #listeners = new Set<MonitorListener>();
  readonly #timers: NodeJS.Timeout[] = [];
  #redis: RedisStatus;
  #view: ClusterView | undefined;
  #snapshot: DashboardSnapshot;
  #refreshing: Promise<void> | undefined;
  #again = false;
  #sampleDue = false;
  /** What the reader's connection last failed with, for the outage message. */
  #connectionError: unknown;
  #probing = false;
  #durableSeen = false;
  #closed = false;

  constructor(options: MonitorOptions) {
    this.#namespace = options.namespace;
    this.#log = options.log ?? (() => {});
    this.#refreshIntervalMs = options.refreshIntervalMs ?? HISTORY_INTERVAL_MS;
    this.#probeIntervalMs = options.probeIntervalMs ?? PROBE_INTERVAL_MS;
    this.#url = options.redis;
    this.#cluster = options.cluster;
    this.#tls = options.tls;
    const shown = options.cluster
      ? describeRedis({ cluster: options.cluster })
      : redactUrl(options.redis);
    this.#redis = { url: shown, up: false, error: null, downSince: null };
    this.#snapshot = this.#build();
  }

  /** Starts watching; resolves after the first read, whether it succeeded or not. */
  async start(): Promise<void> {
    if (this.#connections !== undefined || this.#closed) return;
    const target = this.#cluster ?? this.#url;
    const reader = openReader(target, this.#tls);
    const subscriber = openSubscriber(target, this.#tls);
    this.#connections = { reader, subscriber };
    reader.on('error', (error: unknown) => {
      this.#connectionError = error;
    });
    // After an outage, show the deployment as soon as Redis answers again.
    reader.on('ready', () => void this.refresh());
    if (this.#cluster) {
      // On a cluster the control channel is sharded, in the namespace's slot.
      const channel = names(this.#namespace, { cluster: true }).controlChannel;
      subscriber.on('smessage', () => void this.refresh());
      subscriber.ssubscribe(channel).catch(() => {});
    } else {
      subscriber.on('message', () => void this.refresh());
      subscriber.subscribe(names(this.#namespace).controlChannel).catch(() => {});
    }
    this.#timers.push(
      setInterval(() => void this.refresh({ sample: true }), this.#refreshIntervalMs),
      setInterval(() => void this.#probe(), this.#probeIntervalMs),
    );
    // A read before the first connection would only report that it is not made yet.
    await readyWithin(reader, READ_TIMEOUT_MS);
    await this.refresh({ sample: true });
  }

  /** The latest snapshot. */
  snapshot(): DashboardSnapshot {
    return this.#snapshot;
  }

  history(): DashboardHistory {
    return this.#history.read();
  }

  /** Calls `listener` with every snapshot and sample from now on; returns the unsubscribe. */
  subscribe(listener: MonitorListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Reads the cluster view now and publishes a snapshot (with `sample`, a
   * history sample too). A call during a read makes one more read after it.
   */
  refresh(options: { sample?: boolean } = {}): Promise<void> {
    if (options.sample) this.#sampleDue = true;
    if (this.#closed || this.#connections === undefined) return Promise.resolve();
    if (this.#refreshing !== undefined) {
      this.#again = true;
      return this.#refreshing;
    }
    this.#refreshing = this.#read().finally(() => {
      this.#refreshing = undefined;
      if (this.#again) {
        this.#again = false;
        void this.refresh();
      }
    });
    return this.#refreshing;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#listeners.clear();
    await this.#refreshing;
    const connections = this.#connections;
    if (connections === undefined) return;
    await Promise.all([
      closeConnection(connections.reader),
      closeConnection(connections.subscriber),
    ]);
  }

  async #read(): Promise<void> {
    const sample = this.#sampleDue;
    this.#sampleDue = false;
    let taken: HistorySample | undefined;
    try {
      const view = await readClusterView(this.#reader(), this.#namespace);
      this.#view = view;
      this.#durableSeen ||= durableActivity(view);
      this.#states.observe(view, view.readAt);
      this.#up();
      if (sample) taken = this.#rates.sample(view, view.readAt);
    } catch (error) {
      this.#down(error);
      if (sample) taken = unread(Date.now());
    }
    if (this.#closed) return;
    if (taken !== undefined) {
      this.#history.push(taken);
      this.#emit((l) => l.sample?.(taken));
    }
    this.#snapshot = this.#build();
    this.#emit((l) => l.snapshot?.(this.#snapshot));
  }

  /** Reads again if a watched worker's heartbeat says its state changed. */
  async #probe(): Promise<void> {
    if (this.#probing || !this.#redis.up || this.#closed) return;
    this.#probing = true;
    try {
      const watched = this.#states.watched();
      const probes = await probeHeartbeats(this.#reader(), this.#namespace, watched);
      if (this.#states.changedBy(probes)) void this.refresh();
    } catch {
      // The next read says what is wrong with Redis.
      void this.refresh();
    } finally {
      this.#probing = false;
    }
  }

  #reader(): Redis {
    if (this.#connections === undefined) throw new Error('the monitor is not started');
    return this.#connections.reader;
  }

  #up(): void {
    if (!this.#redis.up && this.#redis.downSince !== null) this.#log('Redis answers again', 'info');
    this.#redis = { ...this.#redis, up: true, error: null, downSince: null };
  }

  #down(error: unknown): void {
    // Without a connection a read fails with ioredis's words for that; the connection's own error says more.
    const message =
      this.#connections?.reader.status === 'ready'
        ? errorMessage(error)
        : `no connection${this.#connectionError === undefined ? '' : ` (${errorMessage(this.#connectionError)})`}`;
    if (this.#redis.downSince === null) {
      this.#log(`cannot read Redis ${this.#redis.url}: ${message}; retrying`, 'warn');
    }
    this.#redis = {
      ...this.#redis,
      up: false,
      error: message,
      downSince: this.#redis.downSince ?? Date.now(),
    };
  }

  #build(): DashboardSnapshot {
    return dashboardSnapshot({
      namespace: this.#namespace,
      redis: this.#redis,
      view: this.#view,
      workers: this.#states.list(),
      durableSeen: this.#durableSeen,
    });
  }

  #emit(call: (listener: MonitorListener) => void): void {
    for (const listener of this.#listeners) {
      try {
        call(listener);
      } catch {
        // One broken listener must not stop the others or the monitor.
      }
    }
  }
}

/** A sample for an interval in which Redis could not be read. */
function unread(at: number): HistorySample {
  return {
    at,
    tasksPerSecond: null,
    errorsPerSecond: null,
    executionP50Ms: null,
    executionP99Ms: null,
    latencyP50Ms: null,
    latencyP99Ms: null,
  };
}
