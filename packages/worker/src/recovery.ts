/**
 * After a reconnect the subscriber has no subscription (ioredis is told not to
 * re-send SUBSCRIBE itself, redis-transport.ts): recovery subscribes again and
 * proves it worked with a probe published to the worker's own channel and
 * seen coming back, then re-registers (Redis may have restarted empty) and
 * announces the worker again. Until then the heartbeat stays off, so that
 * dispatchers do not send to a worker that cannot hear them.
 */
import type { Clock } from '@ringcast/protocol';
import { nanoid } from 'nanoid';
import { PROBE_PREFIX } from './intake.js';
import type { WorkerTransport } from './transport.js';
import { sleep, within } from './wait.js';

const PROBE_TIMEOUT_MS = 1_000;
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 1_000;

/** What recovery needs of its worker. */
export interface RecoveryHost {
  /** Whether the worker still serves (not closing, not fenced). */
  serving(): boolean;
  /** Writes the registration and announces the worker. */
  register(): Promise<void>;
  /** The subscription is proven and the worker registered again. */
  restored(): void;
  /** A try failed; recovery tries again. */
  failed(error: unknown): void;
}

export class Recovery {
  readonly #channel: string;
  readonly #transport: Pick<WorkerTransport, 'subscribe' | 'publish' | 'subscriberUp'>;
  readonly #clock: Clock;
  readonly #host: RecoveryHost;
  #recovering = false;
  #probe: { nonce: string; seen: () => void } | undefined;

  constructor(
    channel: string,
    transport: Pick<WorkerTransport, 'subscribe' | 'publish' | 'subscriberUp' | 'clock'>,
    host: RecoveryHost,
  ) {
    this.#channel = channel;
    this.#transport = transport;
    this.#clock = transport.clock;
    this.#host = host;
  }

  /** A probe frame arrived on the worker's channel. */
  probe(data: string): void {
    if (this.#probe && data === PROBE_PREFIX + this.#probe.nonce) this.#probe.seen();
  }

  /** Re-subscribes until the subscription is proven, while the connection is up. One at a time. */
  async recover(): Promise<void> {
    if (this.#recovering) return;
    this.#recovering = true;
    try {
      for (
        let delay = FIRST_RETRY_MS;
        this.#host.serving() && this.#transport.subscriberUp;
        delay = Math.min(delay * 2, MAX_RETRY_MS)
      ) {
        try {
          await this.#transport.subscribe();
          if (await this.#probeSubscription()) {
            await this.#host.register();
            this.#host.restored();
            return;
          }
        } catch (error) {
          this.#host.failed(error);
        }
        await sleep(this.#clock, delay);
      }
    } finally {
      this.#recovering = false;
    }
  }

  async #probeSubscription(): Promise<boolean> {
    const nonce = nanoid();
    let seen = false;
    const arrived = new Promise<void>((resolve) => {
      this.#probe = {
        nonce,
        seen: () => {
          seen = true;
          resolve();
        },
      };
    });
    await this.#transport.publish(this.#channel, PROBE_PREFIX + nonce);
    await within(this.#clock, arrived, PROBE_TIMEOUT_MS);
    this.#probe = undefined;
    return seen;
  }
}
