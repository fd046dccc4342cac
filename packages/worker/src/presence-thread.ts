/**
 * The heartbeat thread (see presence.ts). It runs in a `worker_thread` of the
 * worker process with a Redis connection of its own, so the heartbeat key stays
 * alive while a handler blocks the main event loop, and each beat says how long
 * that loop has been blocked. It dies with the process: a crashed or killed
 * worker still looks dead once its TTL lapses.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  type ClusterTargetOptions,
  closeConnection,
  clusterCommandOptions,
  connectionDefaults,
  encodeHeartbeat,
  errorMessage,
  isClusterTarget,
  RateLimitedLog,
} from '@ringcast/protocol';
import { Cluster, Redis } from 'ioredis';
import {
  type BeatTarget,
  LoopWatch,
  SharedLoopState,
  STOP_MESSAGE,
  writeBeat,
} from './presence-state.js';
import { restoreBuffers, type ThreadRedisTarget } from './thread-redis.js';

/** What the main thread gives the heartbeat thread at its start. */
export interface PresenceThreadData extends BeatTarget {
  /** Marks the data as ours: this module may be imported in a thread of the application's too. */
  kind: 'ringcast-presence';
  buffer: SharedArrayBuffer;
  redis: ThreadRedisTarget;
  connectionName: string;
  intervalMs: number;
}

/**
 * What the heartbeat thread tells the main thread: `ready` once connected, and
 * after each beat what it read of the weight policy, dated by the entry
 * generation it read before the beat (see PolicyReads).
 */
export type PresenceThreadMessage =
  | { kind: 'ready' }
  | { kind: 'error'; message: string }
  | { kind: 'policy'; value: string | null; generation: number };

/** What the main thread tells the heartbeat thread: stop, or write this registry entry from now on. */
export type PresenceControlMessage = typeof STOP_MESSAGE | { kind: 'entry'; entry: string };

const ERROR_REPORT_INTERVAL_MS = 10_000;
const STOP_WRITE_WAIT_MS = 1_000;

/** The thread's connection: like the worker's, a Cluster for a cluster target. */
function connect(
  target: ThreadRedisTarget,
  defaults: ReturnType<typeof connectionDefaults>,
): Redis {
  if (typeof target === 'string') return new Redis(target, defaults);
  const options = restoreBuffers(target) as object;
  if (!isClusterTarget(options)) return new Redis({ ...options, ...defaults });
  const command = clusterCommandOptions(options as ClusterTargetOptions, defaults.connectionName);
  // A Cluster has the commands a beat needs under the same names.
  return new Cluster(command.nodes, command.options) as unknown as Redis;
}

function run(port: NonNullable<typeof parentPort>, data: PresenceThreadData): void {
  const state = new SharedLoopState(data.buffer);
  const watch = new LoopWatch(state, data.intervalMs, data.ttlMs);
  const defaults = connectionDefaults(data.connectionName);
  const redis = connect(data.redis, defaults);

  let stopped = false;
  let writing: Promise<void> | undefined;
  /** A new entry came while a beat was being written: write another as soon as it is done. */
  let again = false;
  // The main thread logs what is reported; a stream of failures is reported now and then.
  const reports = new RateLimitedLog(
    (message) => port.postMessage({ kind: 'error', message } satisfies PresenceThreadMessage),
    ERROR_REPORT_INTERVAL_MS,
  );
  const report = (error: unknown): void => {
    reports.log('beat', errorMessage(error));
  };

  const beat = (): void => {
    const now = process.hrtime.bigint();
    // Sampled on every tick, beating or not, so a tick that came late is noticed.
    const loop = watch.sample(now);
    if (stopped || writing || !state.beating) return;
    const value = encodeHeartbeat({ incarnation: data.incarnation, ...loop });
    const generation = state.entryGeneration;
    writing = writeBeat(redis, data, value)
      .then((policy) => {
        state.threadBeat = process.hrtime.bigint();
        port.postMessage({
          kind: 'policy',
          value: policy,
          generation,
        } satisfies PresenceThreadMessage);
      })
      .catch(report)
      .finally(() => {
        writing = undefined;
        if (again) {
          again = false;
          beat();
        }
      });
  };

  /**
   * The worker's weight changed. The new entry is written at once, and after
   * any beat under way: that one carries the old entry and may land after the
   * main thread's own write of the new one.
   */
  const newEntry = (entry: string): void => {
    data.entry = entry;
    if (writing) again = true;
    else beat();
  };

  const stop = async (): Promise<void> => {
    stopped = true;
    clearInterval(timer);
    // A beat in flight lands before the worker deletes its heartbeat key, not after.
    if (writing) {
      let timeout: NodeJS.Timeout | undefined;
      await Promise.race([
        writing,
        new Promise((resolve) => {
          timeout = setTimeout(resolve, STOP_WRITE_WAIT_MS);
        }),
      ]);
      clearTimeout(timeout);
    }
    await closeConnection(redis);
    port.close();
  };

  redis.on('error', report);
  port.on('message', (message: PresenceControlMessage) => {
    if (message === STOP_MESSAGE) {
      if (!stopped) void stop();
    } else if (typeof message === 'object' && message?.kind === 'entry' && !stopped) {
      newEntry(message.entry);
    }
  });
  const timer = setInterval(beat, data.intervalMs);
  redis.connect().then(() => {
    port.postMessage({ kind: 'ready' } satisfies PresenceThreadMessage);
    beat();
  }, report);
}

// Only as the thread presence.ts starts: never run on import, and never in an
// application's own worker thread that happened to load this file.
if (
  parentPort &&
  (workerData as Partial<PresenceThreadData> | null)?.kind === 'ringcast-presence'
) {
  run(parentPort, workerData as PresenceThreadData);
}
