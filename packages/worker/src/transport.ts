/**
 * The worker core's one seam to the outside: every Redis call and every clock
 * reading or timer goes through a {@link WorkerTransport}. The core never knows
 * which one it has: `redis-transport.ts` (ioredis, the default) or
 * `memory-transport.ts` (a `MemoryRedis` on a virtual clock, for unit tests and
 * the simulator). Operations are semantic (register, park a reply, check the
 * id's claim), so each implementation owns its own batching and scripts.
 */
import type { Clock, ConnectionRole } from '@ringcast/protocol';
import type { Logger } from './options.js';

/** What one check of the worker id's claim found (see identity.ts). */
export interface ClaimCheck {
  /** Whether this process holds the id (it may have just taken it). */
  held: boolean;
  /** Subscribers to the worker's channel, this process's own included if it has one. */
  subscribers: number;
}

/** What the transport tells its worker. */
export interface WorkerTransportEvents {
  /**
   * A frame arrived on the worker's channel. `sentAt`: its sender's timestamp,
   * when frame authentication vouched for it (epoch ms); NaN or absent otherwise.
   */
  message(data: string, sentAt?: number): void;
  /** The subscriber connection closed: nothing arrives until it is back and subscribed. */
  subscriberClosed(): void;
  /** The subscriber connection is ready (again); whether the subscription holds is to be proven. */
  subscriberReady(): void;
  /** The command connection is ready again after a drop. */
  commandReady(): void;
  /** A connection reported an error; the transport reconnects on its own. */
  error(error: Error, role: ConnectionRole): void;
}

/** The heartbeat's settings, fixed at start. */
export interface PresenceSetup {
  /** The registry entry (JSON of the worker's info), written with every beat; see {@link PresenceHandle.setEntry}. */
  entry: string;
  incarnation: string;
  ttlMs: number;
  intervalMs: number;
  logger: Logger;
  /**
   * What the operator's weight policy holds for this worker (`null`: no entry),
   * read with a beat. Called when it may be news: not for a read like the last,
   * nor for one sent before the entry last changed (see presence-state.ts).
   */
  policy(value: string | null): void;
}

/** The heartbeat of a running worker; see presence.ts for the Redis one. */
export interface PresenceHandle {
  /** Resolves once beats can be written. Never rejects. */
  start(): Promise<void>;
  /** Whether to beat: only while registered with a subscription known to be live. */
  setLive(live: boolean): void;
  /** Slots held past their deadline, reported in each beat. */
  setOverdue(count: number): void;
  /** The registry entry changed (a new weight): written at once, and with every beat after. */
  setEntry(entry: string): void;
  /** Resolves once no beat can land any more. Idempotent. */
  stop(): Promise<void>;
}

/** One worker's connection to Redis, or a model of it. Made for one worker id in one namespace. */
export interface WorkerTransport {
  /** Every clock reading and timer of the core. */
  readonly clock: Clock;
  /** Whether the subscriber connection is up now. */
  readonly subscriberUp: boolean;
  /** Connects; `events` hears from here on. Rejects when Redis cannot be reached. */
  connect(events: WorkerTransportEvents): Promise<void>;
  /** Subscribes to the worker's channel; resolves on Redis's confirmation. */
  subscribe(): Promise<void>;
  /** Stops hearing the worker's channel. */
  unsubscribe(): Promise<void>;
  /** Publishes a frame; resolves with how many subscribers received it. */
  publish(channel: string, frame: string): Promise<number>;
  /** Takes or keeps the id's claim unless another live process holds it, atomically. */
  claim(incarnation: string, ttlMs: number, subscribed: boolean): Promise<ClaimCheck>;
  /** What the operator's weight policy hash holds for this worker; `null` if nothing. */
  readWeightPolicy(): Promise<string | null>;
  /** Writes the registry entry and a fresh heartbeat key together. */
  register(entry: string, incarnation: string, ttlMs: number): Promise<void>;
  /** Deletes the registry entry, the heartbeat key and the claim together. */
  leave(): Promise<void>;
  /** Writes the worker's execution statistics (`workerStatsKey`) with a TTL. */
  publishStats(report: string, ttlMs: number): Promise<void>;
  /** Appends a reply to its dispatcher's bounded, expiring list of parked replies. */
  park(replyTo: string, frame: string, ttlMs: number, max: number): Promise<void>;
  /** Makes the heartbeat. */
  presence(setup: PresenceSetup): PresenceHandle;
  /** Why a start failed, with where the connection went, for its `REDIS_ERROR`. */
  startFailure(error: unknown): { message: string; cause: unknown };
  /** Where it connects, redacted, for the log. */
  describe(): string;
  /** Unsubscribes if it can (waiting at most {@link UNSUBSCRIBE_MS}) and closes the connections it owns. */
  close(): Promise<void>;
}

/** How long close() waits for Redis to confirm the unsubscribe: a stalled Redis must not hold a close forever. */
export const UNSUBSCRIBE_MS = 2_000;
