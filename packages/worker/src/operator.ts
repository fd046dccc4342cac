/**
 * What an operator asks of a running worker: a new weight (a `reweight` frame
 * on the worker's own channel, or the weight policy hash, see weight.ts) or a
 * graceful close (a `drain` frame). Frames meant for another id or another
 * process of this id are sorted out by intake; this takes the rest.
 *
 * A new weight goes into the worker's info, which the heartbeat writes to the
 * registry from then on; a running worker also re-registers at once and says
 * hello, so every dispatcher's ring follows without waiting for a reconcile
 * round. A starting worker registers with it when it gets there. A worker that
 * is closing or has closed takes nothing: re-registering would undo its leave.
 */
import type { FieldLogger, RateLimitedLog, WorkerInfo } from '@ringcast/protocol';
import { safeString } from './serialize.js';
import type { PresenceHandle } from './transport.js';
import { type WeightSource, WorkerWeight } from './weight.js';

/** What the operator's requests need of the worker. */
export interface OperatorHost {
  /** The worker's registry entry as it stands; its `weight` is kept here. */
  readonly info: WorkerInfo;
  /** The heartbeat, once made. */
  presence(): PresenceHandle | undefined;
  /** Starting or running: neither closing nor closed. */
  open(): boolean;
  /** Running and serving its id (not fenced): a new registration can go out now. */
  serving(): boolean;
  /** Writes the registry entry with a fresh heartbeat and says hello. */
  register(): Promise<void>;
  /** Closes the worker as `close()` does, on the operator's request. */
  drain(): void;
}

export class Operator {
  readonly #weight: WorkerWeight;
  readonly #logger: FieldLogger;
  readonly #warnings: RateLimitedLog;
  readonly #host: OperatorHost;

  constructor(
    options: { weight: number; logger: FieldLogger },
    warnings: RateLimitedLog,
    host: OperatorHost,
  ) {
    this.#logger = options.logger;
    this.#warnings = warnings;
    this.#host = host;
    this.#weight = new WorkerWeight(options.weight, options.logger, warnings);
  }

  /** The weight now, the configured one, and where the current one comes from. */
  get weight(): { current: number; configured: number; source: WeightSource } {
    const w = this.#weight;
    return { current: w.current, configured: w.configured, source: w.source };
  }

  /** The policy as read at start, before the first registration. */
  initial(value: string | null): void {
    this.#weight.initial(value);
    this.#host.info.weight = this.#weight.current;
  }

  /** What a heartbeat read of the policy. */
  policy = (value: string | null): void => {
    if (this.#host.open() && this.#weight.policy(value)) this.#apply();
  };

  /** A reweight frame for this worker. */
  reweight(weight: number): void {
    if (this.#host.open() && this.#weight.reweight(weight)) this.#apply();
  }

  /** A drain frame for this worker; one that comes while it closes changes nothing. */
  drain(): void {
    if (!this.#host.open()) return;
    this.#logger.info('drain requested by an operator; closing gracefully', {
      reason: 'drain',
    });
    this.#host.drain();
  }

  #apply(): void {
    const host = this.#host;
    const weight = this.#weight.current;
    host.info.weight = weight;
    host.presence()?.setEntry(JSON.stringify(host.info));
    if (!host.serving()) return;
    host.register().catch((error: unknown) => {
      // The heartbeat writes the entry all the same; dispatchers read it at their next reconcile.
      this.#warnings.log('reweight', `announcing weight ${weight} failed: ${safeString(error)}`, {
        weight,
      });
    });
  }
}
