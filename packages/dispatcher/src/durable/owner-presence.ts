/**
 * This dispatcher as an owner of durable tasks: registered with a heartbeat
 * that lives 3 × `ownerHeartbeatMs`, refreshed every `ownerHeartbeatMs`. Each
 * beat is followed by `afterBeat` (the look for dead owners and orphans), so a
 * dead dispatcher's tasks are adopted within one heartbeat of its key lapsing.
 */
import { hostname } from 'node:os';
import { errorMessage, type Timer } from '@ringcast/protocol';
import { nanoid } from 'nanoid';
import type { DurableContext } from './durable-context.js';

/** How many heartbeats a dispatcher's key outlives its last refresh by. */
export const OWNER_TTL_BEATS = 3;

export class OwnerPresence {
  readonly #c: DurableContext;
  readonly #afterBeat: () => Promise<void>;
  readonly #incarnation = nanoid(12);
  #timer: Timer | undefined;
  #startedAt = 0;

  constructor(context: DurableContext, afterBeat: () => Promise<void>) {
    this.#c = context;
    this.#afterBeat = afterBeat;
  }

  /** Registers now (a failure rejects), then beats on. */
  async start(): Promise<void> {
    const { host } = this.#c;
    this.#startedAt = host.clock.now();
    await this.#beat();
    // Stopped while the first beat was in flight: no heartbeat goes on.
    if (this.#c.stopped()) return;
    this.#timer = host.clock.setInterval(() => {
      this.#c.writes.track(
        this.#beat().then(this.#afterBeat, (error: unknown) =>
          host.log.warn('durable', `owner heartbeat failed: ${errorMessage(error)}`),
        ),
      );
    }, host.options.ownerHeartbeatMs);
  }

  stop(): void {
    this.#c.host.clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  #beat(): Promise<void> {
    const { host, store } = this.#c;
    const entry = JSON.stringify({
      id: host.id,
      incarnation: this.#incarnation,
      host: hostname(),
      pid: process.pid,
      startedAt: this.#startedAt,
    });
    const ttl = host.options.ownerHeartbeatMs * OWNER_TTL_BEATS;
    return store.beat(host.id, entry, this.#incarnation, ttl);
  }
}
