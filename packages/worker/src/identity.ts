import { type Clock, ErrorCode, type Timer } from '@ringcast/protocol';
import { WorkerError } from './errors.js';
import type { ClaimCheck } from './transport.js';

/**
 * Which process may serve a worker id.
 *
 * Two processes started with one id subscribe to one channel and both run every
 * task sent to it. A heartbeat key cannot tell them apart from a restart: a
 * worker killed with `kill -9` and started again at once finds its old heartbeat
 * still live for up to its TTL, and must start. What tells them apart is a live
 * subscriber on the channel: Redis drops a dead process's subscription as soon as
 * its connection closes, while a live duplicate keeps its own.
 *
 * Subscribers are anonymous, so a claim key decides who keeps the id: it holds
 * the incarnation of its holder and lapses unless the holder refreshes it. One
 * script reads both atomically. A process may take the claim when nobody else is
 * subscribed (a restart), or when the claim lapsed (its holder stopped
 * refreshing: dead, or paused past its TTL); otherwise another live process holds
 * the id and this one must not serve it. A worker asks once before it
 * subscribes (the usual duplicate never receives a task), once after (two that
 * start at once: the second to check yields), and then on every
 * interval, which keeps the claim and finds a duplicate that slipped in while
 * this one was disconnected.
 */

/** The claim's one atomic operation, which the transport provides (a Lua script on Redis). */
export interface ClaimStore {
  claim(incarnation: string, ttlMs: number, subscribed: boolean): Promise<ClaimCheck>;
}

/** What {@link IdentityClaim.watch} needs from its worker. */
export interface IdentityHost {
  /** Whether the worker's subscription is known to be live. */
  live(): boolean;
  /** The id is this worker's, but other processes listen on its channel too. */
  shared(subscribers: number): void;
  /** Another live process holds the id now: the worker must stop serving it. Called once. */
  fence(): void;
  /** A check failed (Redis unreachable): the claim lapses only after its TTL, and a later check takes it back if nobody else did. */
  failed(error: unknown): void;
}

export class IdentityClaim {
  readonly #store: ClaimStore;
  readonly #clock: Clock;
  readonly #id: string;
  readonly #namespace: string;
  readonly #incarnation: string;
  readonly #ttlMs: number;
  #timer: Timer | undefined;
  #checking = false;

  constructor(
    store: ClaimStore,
    clock: Clock,
    namespace: string,
    id: string,
    incarnation: string,
    ttlMs: number,
  ) {
    this.#store = store;
    this.#clock = clock;
    this.#id = id;
    this.#namespace = namespace;
    this.#incarnation = incarnation;
    this.#ttlMs = ttlMs;
  }

  /** Takes or keeps the claim if no other live process holds it. `subscribed`: whether this process is subscribed now. */
  check(subscribed: boolean): Promise<ClaimCheck> {
    return this.#store.claim(this.#incarnation, this.#ttlMs, subscribed);
  }

  /** Like {@link check}, for a starting worker: rejects `DUPLICATE_WORKER` when another live process holds the id. */
  async acquire(subscribed: boolean): Promise<void> {
    const { held, subscribers } = await this.check(subscribed);
    if (held) return;
    throw new WorkerError(
      ErrorCode.DUPLICATE_WORKER,
      `worker id ${this.#id} is in use: another live process serves it in namespace ${this.#namespace} ` +
        `(${subscribers} subscriber(s) on its channel); give each worker its own id, ` +
        `or stop the other one (a process that died gives the id up within ${this.#ttlMs} ms)`,
    );
  }

  /** Checks every `intervalMs`, one check at a time, until {@link stop} or until the worker is fenced. */
  watch(intervalMs: number, host: IdentityHost): void {
    this.stop();
    const timer = this.#clock.setInterval(() => {
      if (this.#checking) return;
      this.#checking = true;
      const live = host.live();
      this.check(live)
        .then(({ held, subscribers }) => {
          if (this.#timer !== timer) return;
          if (!held) {
            this.stop();
            host.fence();
          } else if (live && subscribers > 1) {
            // Between a reconnect and its probe, our own subscription may or may not count.
            host.shared(subscribers);
          }
        })
        .catch(host.failed)
        .finally(() => {
          this.#checking = false;
        });
    }, intervalMs);
    this.#timer = timer;
  }

  stop(): void {
    this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }
}
