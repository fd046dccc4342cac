/**
 * The dispatcher core's one door to Redis and to time. Every command, every
 * subscription and every clock reading or timer of the core goes through a
 * {@link DispatcherTransport}: `redis-transport.ts` on ioredis in production,
 * `memory-transport.ts` on protocol's `MemoryRedis` and a `VirtualClock` in unit
 * tests and the simulator. The core does not know which one it has.
 *
 * The operations are semantic (read the registry, prune it, take parked
 * replies), so each implementation owns how it does them atomically: the Redis
 * one with MULTI and Lua, the memory one inside one command of its model.
 */
import type { Clock, ConnectionRole, Names, RegistryChanges } from '@ringcast/protocol';
import type { RecordKeys } from './durable/record-seal.js';
import type { DurableStore, SettledAnnouncer } from './durable/store.js';

/**
 * What {@link DispatcherTransport.publish} resolves with when it cannot tell: the
 * command connection dropped while the publish was in flight, and a client
 * re-sends such a command, so the frame may have reached its worker (the first
 * copy) even if the answer says nobody heard it. The ack timeout decides.
 */
export const MAYBE_HEARD = -1;

/**
 * Counts the drops of a command connection, for both transports' publishes. A
 * client re-sends a command that was in flight when its connection dropped, so
 * a PUBLISH may reach Redis twice: the first copy heard by the worker, the second
 * answered 0 by a Redis that restarted before the worker re-subscribed. A count
 * from across a drop cannot prove nobody heard the task: it is MAYBE_HEARD.
 */
export class CommandEpoch {
  #epoch = 0;

  /** The command connection dropped. */
  dropped(): void {
    this.#epoch++;
  }

  /** Whether it ever dropped: a later `ready` is a restoration. */
  get everDropped(): boolean {
    return this.#epoch > 0;
  }

  /** `sent`'s receiver count, or {@link MAYBE_HEARD} when the connection dropped meanwhile. */
  publish(sent: Promise<number>): Promise<number> {
    const epoch = this.#epoch;
    return sent.then(
      (receivers) => (receivers === 0 && epoch !== this.#epoch ? MAYBE_HEARD : receivers),
      (error: unknown) => {
        if (epoch !== this.#epoch) return MAYBE_HEARD;
        throw error;
      },
    );
  }
}

/** Who the transport works for: the names of its keys and channels come from here. */
export interface TransportContext {
  /** The dispatcher's id: its parked replies are kept under it. */
  readonly id: string;
  readonly names: Names;
}

/** What the transport reports to the core. Handlers must not throw. */
export interface TransportEvents {
  /** A message on a subscribed channel. */
  message(channel: string, data: string): void;
  /**
   * The subscriber connection (re)connected. After a drop it may have lost its
   * subscriptions, and messages published meanwhile are gone.
   */
  subscriberReady(): void;
  /**
   * The command connection is back after a drop: Redis was unreachable for a
   * while, so heartbeats could not be refreshed meanwhile.
   */
  commandRestored(): void;
  /** A connection reported an error; it reconnects by itself. */
  error(error: Error, role: ConnectionRole): void;
}

export interface DispatcherTransport {
  /** Every clock reading and timer of the core. */
  readonly clock: Clock;
  /** Connects; `events` hear everything from now on. Rejects if either connection fails. */
  open(context: TransportContext, events: TransportEvents): Promise<void>;
  /** Why `open` or the first subscribe failed, redacted, for the start's error. */
  describeFailure(error: unknown): { message: string; cause: unknown };
  /** Subscribes the subscriber connection to `channels`. */
  subscribe(channels: readonly string[]): Promise<void>;
  /** Publishes a frame; resolves with its receivers, or {@link MAYBE_HEARD}. */
  publish(channel: string, frame: string): Promise<number>;
  /** Every registry entry, by field, exactly as stored. */
  readRegistry(): Promise<Record<string, string>>;
  /** The heartbeat values of the given worker ids, in order (null: none). */
  readHeartbeats(ids: readonly string[]): Promise<Array<string | null>>;
  /**
   * The registry's change log since `since`, the lapsed heartbeat deadlines and
   * the next one, at most `limit` ids of each; trims the log (protocol's
   * registry-log.ts). One atomic step.
   */
  readChanges(since: number, limit: number): Promise<RegistryChanges>;
  /** The registry entries and heartbeat values of the given worker ids, in order (null: none); one atomic read. */
  readWorkers(
    ids: readonly string[],
  ): Promise<{ entries: Array<string | null>; beats: Array<string | null> }>;
  /** The workers' published execution statistics (`workerStatsKey`), in the order of `ids`. */
  readWorkerStats(ids: readonly string[]): Promise<Array<string | null>>;
  /**
   * Writes this dispatcher's stats report (`dispatcherStatsKey`) with a TTL of
   * `ttlMs` and lists it in `dispatcherStatsIndexKey`, dropping entries that
   * expired a TTL ago; in one atomic step.
   */
  publishStats(report: string, ttlMs: number): Promise<void>;
  /** Deletes this dispatcher's stats report and its index entry. */
  removeStats(): Promise<void>;
  /**
   * Deletes each registry entry only if it is still exactly `entry` and, when
   * `id` is given, that worker's heartbeat is still absent; all in one atomic
   * step. Each worker pruned also loses its heartbeat deadline, and the change
   * is logged, so other dispatchers drop it too (registry-log.ts). An `entry`
   * of `''` stands for none: the worker's deadline goes if it has no entry and
   * no heartbeat. Resolves with how many entries went.
   */
  prune(
    entries: ReadonlyArray<{ field: string; entry: string; id: string | undefined }>,
  ): Promise<number>;
  /** How many connections subscribe to each channel, in order. */
  subscriberCounts(channels: readonly string[]): Promise<number[]>;
  /**
   * Takes (reads and deletes, atomically) the replies workers parked for this
   * dispatcher, or for `dispatcherId` (a dead one whose tasks it adopts).
   */
  takeParked(dispatcherId?: string): Promise<string[]>;
  /**
   * The durable-task store on the command connection (the Redis one in
   * production, the in-memory one in tests and the simulator); only once open.
   * Made on the first call: `announce`, if given then, takes its settled ids
   * instead of the settled channel (see {@link SettledAnnouncer}); `keys`
   * seal and open its records' payloads, results and errors (record-seal.ts).
   */
  durableStore(announce?: SettledAnnouncer, keys?: RecordKeys): DurableStore;
  /** Closes the connections it opened. */
  close(): Promise<void>;
}
