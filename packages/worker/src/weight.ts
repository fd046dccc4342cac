/**
 * The worker's weight: the one it was configured with, unless the operator's
 * weight policy (`names().weightsKey`, written by `ringcast reweight`) holds a
 * valid one for its id. The policy is the record and this worker follows it:
 * it is read at start, before the first registration, and with every
 * heartbeat, so a worker restarted under the same id starts with the
 * operator's weight, a reweight frame it missed is caught up with, and a
 * deleted entry (`ringcast reweight <id> --reset`) sends it back to its
 * configured weight. A reweight frame speaks for the policy until the next
 * read. An entry a worker may not take (see `parsePolicyWeight`) is ignored
 * with a warning, as if absent. The worker alone writes its registry entry;
 * the operator alone writes the policy.
 */
import {
  type FieldLogger,
  MAX_WEIGHT,
  parsePolicyWeight,
  type RateLimitedLog,
} from '@ringcast/protocol';

/** Where a worker's weight comes from now. */
export type WeightSource = 'configured' | 'policy';

/** Longest stretch of an invalid policy entry quoted in the warning. */
const QUOTED_CHARS = 64;

export class WorkerWeight {
  readonly configured: number;
  readonly #logger: FieldLogger;
  readonly #warnings: RateLimitedLog;
  #current: number;
  #source: WeightSource = 'configured';

  constructor(configured: number, logger: FieldLogger, warnings: RateLimitedLog) {
    this.configured = configured;
    this.#current = configured;
    this.#logger = logger;
    this.#warnings = warnings;
  }

  get current(): number {
    return this.#current;
  }

  get source(): WeightSource {
    return this.#source;
  }

  /** The policy as read at start; says so in one line when it sets the weight. */
  initial(value: string | null): void {
    const weight = this.#valid(value);
    if (weight === undefined) return;
    this.#current = weight;
    this.#source = 'policy';
    this.#logger.info(
      `starts with weight ${weight} from the operator's weight policy ` +
        `(configured weight ${this.configured})`,
      { weight, configuredWeight: this.configured, source: 'policy' },
    );
  }

  /** What a heartbeat read of the policy (`null`: no entry). Returns whether the weight changed. */
  policy(value: string | null): boolean {
    const weight = this.#valid(value);
    if (weight === undefined) {
      if (this.#source === 'configured') return false;
      return this.#set(
        this.configured,
        'configured',
        `no weight policy for it any more: back to its configured weight`,
      );
    }
    return this.#set(weight, 'policy', "from the operator's weight policy");
  }

  /** An operator's reweight frame. Returns whether the weight changed. */
  reweight(weight: number): boolean {
    return this.#set(weight, 'policy', 'set by an operator');
  }

  #set(weight: number, source: WeightSource, why: string): boolean {
    const previous = this.#current;
    this.#source = source;
    if (weight === previous) return false;
    this.#current = weight;
    this.#logger.info(`weight ${previous} → ${weight}, ${why}`, {
      weight,
      previousWeight: previous,
      source,
    });
    return true;
  }

  /** The weight a policy entry holds, or undefined (a warning for an entry that is there but invalid). */
  #valid(value: string | null): number | undefined {
    const weight = parsePolicyWeight(value);
    if (weight === undefined && value !== null) {
      this.#warnings.log(
        'weight-policy',
        `ignoring its weight policy entry ${JSON.stringify(value.slice(0, QUOTED_CHARS))}: ` +
          `not an integer from 1 to ${MAX_WEIGHT}; keeping its configured weight ${this.configured}`,
        { configuredWeight: this.configured },
      );
    }
    return weight;
  }
}
