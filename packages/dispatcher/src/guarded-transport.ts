/**
 * Frame authentication at the dispatcher's transport seam: a
 * {@link DispatcherTransport} around another (Redis or memory), through which
 * every frame passes. Each publish is sealed for its channel (tasks, cancels,
 * durable cancels), every message heard is opened before the core sees it,
 * replies taken from a parked list are opened as bound to the reply channel
 * of the dispatcher they were parked for, and the durable store's settled
 * announcements leave signed through here rather than from its Lua scripts.
 * What fails a check is dropped and counted by the {@link FrameGuard}; the
 * core only ever sees bodies that passed, exactly as unsigned frames look.
 *
 * With auth off the guard changes nothing on the wire and lets unsigned
 * frames through; it only drops (and counts) signed ones.
 */
import type { Clock, FrameGuard, Names, RegistryChanges } from '@ringcast/protocol';
import type { DurableStore } from './durable/store.js';
import type { DispatcherTransport, TransportContext, TransportEvents } from './transport.js';

export class GuardedTransport implements DispatcherTransport {
  readonly clock: Clock;
  readonly #inner: DispatcherTransport;
  readonly #guard: FrameGuard;
  #names: Names | undefined;
  #replyChannel = '';

  constructor(inner: DispatcherTransport, guard: FrameGuard) {
    this.clock = inner.clock;
    this.#inner = inner;
    this.#guard = guard;
  }

  open(context: TransportContext, events: TransportEvents): Promise<void> {
    this.#names = context.names;
    this.#replyChannel = context.names.replyChannel(context.id);
    const guard = this.#guard;
    return this.#inner.open(context, {
      message: (channel, data) => {
        const body = guard.open(channel, data);
        if (body !== undefined) events.message(channel, body);
      },
      subscriberReady: () => events.subscriberReady(),
      commandRestored: () => events.commandRestored(),
      error: (error, role) => events.error(error, role),
    });
  }

  describeFailure(error: unknown): { message: string; cause: unknown } {
    return this.#inner.describeFailure(error);
  }

  subscribe(channels: readonly string[]): Promise<void> {
    return this.#inner.subscribe(channels);
  }

  publish(channel: string, frame: string): Promise<number> {
    return this.#inner.publish(channel, this.#guard.seal(channel, frame));
  }

  readRegistry(): Promise<Record<string, string>> {
    return this.#inner.readRegistry();
  }

  readHeartbeats(ids: readonly string[]): Promise<Array<string | null>> {
    return this.#inner.readHeartbeats(ids);
  }

  readChanges(since: number, limit: number): Promise<RegistryChanges> {
    return this.#inner.readChanges(since, limit);
  }

  readWorkers(
    ids: readonly string[],
  ): Promise<{ entries: Array<string | null>; beats: Array<string | null> }> {
    return this.#inner.readWorkers(ids);
  }

  readWorkerStats(ids: readonly string[]): Promise<Array<string | null>> {
    return this.#inner.readWorkerStats(ids);
  }

  publishStats(report: string, ttlMs: number): Promise<void> {
    return this.#inner.publishStats(report, ttlMs);
  }

  removeStats(): Promise<void> {
    return this.#inner.removeStats();
  }

  prune(
    entries: ReadonlyArray<{ field: string; entry: string; id: string | undefined }>,
  ): Promise<number> {
    return this.#inner.prune(entries);
  }

  subscriberCounts(channels: readonly string[]): Promise<number[]> {
    return this.#inner.subscriberCounts(channels);
  }

  /** The parked replies that pass, opened as bound to the reply channel they were published to. */
  async takeParked(dispatcherId?: string): Promise<string[]> {
    const frames = await this.#inner.takeParked(dispatcherId);
    const channel =
      dispatcherId === undefined ? this.#replyChannel : this.#names!.replyChannel(dispatcherId);
    const bodies: string[] = [];
    for (const frame of frames) {
      const body = this.#guard.open(channel, frame, true);
      if (body !== undefined) bodies.push(body);
    }
    return bodies;
  }

  durableStore(): DurableStore {
    if (!this.#guard.enabled) return this.#inner.durableStore();
    const channel = this.#names!.settledChannel;
    // A lost announcement costs a waiter one poll (record-reads.ts), not its outcome.
    // The guard is the records' keys: a keyring replaced while running seals them from then on.
    return this.#inner.durableStore((ids) => {
      this.publish(channel, ids).catch(() => undefined);
    }, this.#guard);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
