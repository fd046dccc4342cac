/**
 * Frame authentication at the worker's transport seam: a
 * {@link WorkerTransport} around another (Redis or memory), through which every
 * frame passes. Each publish (replies, hello and leave, the recovery probe) is
 * sealed for its channel; a reply parked for a dispatcher is sealed for that
 * dispatcher's reply channel, so whoever takes it (the dispatcher, or one that
 * adopts its tasks) can check it; every frame heard on the worker's channel is
 * opened before intake sees it, and intake learns the sender's timestamp (an
 * operator's request must be newer than the last one applied). What fails a
 * check is dropped and counted by the {@link FrameGuard}.
 *
 * With auth off the guard changes nothing on the wire and lets unsigned frames
 * through; it only drops (and counts) signed ones.
 */
import type { Clock, FrameGuard, Names } from '@ringcast/protocol';
import type {
  ClaimCheck,
  PresenceHandle,
  PresenceSetup,
  WorkerTransport,
  WorkerTransportEvents,
} from './transport.js';

export class GuardedWorkerTransport implements WorkerTransport {
  readonly clock: Clock;
  readonly #inner: WorkerTransport;
  readonly #guard: FrameGuard;
  readonly #names: Names;
  readonly #channel: string;

  constructor(inner: WorkerTransport, guard: FrameGuard, names: Names, id: string) {
    this.clock = inner.clock;
    this.#inner = inner;
    this.#guard = guard;
    this.#names = names;
    this.#channel = names.workerChannel(id);
  }

  get subscriberUp(): boolean {
    return this.#inner.subscriberUp;
  }

  connect(events: WorkerTransportEvents): Promise<void> {
    const guard = this.#guard;
    const channel = this.#channel;
    return this.#inner.connect({
      message: (data) => {
        const body = guard.open(channel, data);
        if (body !== undefined) events.message(body, guard.sentAt);
      },
      subscriberClosed: () => events.subscriberClosed(),
      subscriberReady: () => events.subscriberReady(),
      commandReady: () => events.commandReady(),
      error: (error, role) => events.error(error, role),
    });
  }

  subscribe(): Promise<void> {
    return this.#inner.subscribe();
  }

  unsubscribe(): Promise<void> {
    return this.#inner.unsubscribe();
  }

  publish(channel: string, frame: string): Promise<number> {
    return this.#inner.publish(channel, this.#guard.seal(channel, frame));
  }

  claim(incarnation: string, ttlMs: number, subscribed: boolean): Promise<ClaimCheck> {
    return this.#inner.claim(incarnation, ttlMs, subscribed);
  }

  readWeightPolicy(): Promise<string | null> {
    return this.#inner.readWeightPolicy();
  }

  register(entry: string, incarnation: string, ttlMs: number): Promise<void> {
    return this.#inner.register(entry, incarnation, ttlMs);
  }

  leave(): Promise<void> {
    return this.#inner.leave();
  }

  publishStats(report: string, ttlMs: number): Promise<void> {
    return this.#inner.publishStats(report, ttlMs);
  }

  /** `frame` is what was published unheard: sealed again, for the channel its reader opens it as. */
  park(replyTo: string, frame: string, ttlMs: number, max: number): Promise<void> {
    const sealed = this.#guard.seal(this.#names.replyChannel(replyTo), frame);
    return this.#inner.park(replyTo, sealed, ttlMs, max);
  }

  presence(setup: PresenceSetup): PresenceHandle {
    return this.#inner.presence(setup);
  }

  startFailure(error: unknown): { message: string; cause: unknown } {
    return this.#inner.startFailure(error);
  }

  describe(): string {
    return this.#inner.describe();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
