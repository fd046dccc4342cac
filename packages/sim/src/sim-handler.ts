/**
 * The one handler every simulated worker serves: a deterministic function of its
 * payload (sync, async, retryable, throwing, ignoring or heeding its signal)
 * that tells the {@link Checker} when it runs.
 */
import type { Clock } from '@ringcast/protocol';
import type { HandlerContext } from '@ringcast/worker';
import type { Checker } from './checker.js';

export const HANDLER = 'job';

/** What a simulated handler does with a run. */
export type Mode = 'sync' | 'async' | 'retryable' | 'throw' | 'ignore-signal' | 'abortable';

export interface Payload {
  call: number;
  echo: string;
  mode: Mode;
  delayMs: number;
  /** `retryable`: the first this many runs throw a retryable error, later ones return. */
  failRuns: number;
  pad?: string;
}

/** A sleep on a process's clock that a signal can cut short. */
function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clock.clearTimer(timer);
      reject(signal?.reason);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

class SimError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** The handler of one world: it counts the runs of each call (for `retryable`'s first failures). */
export class SimHandler {
  readonly #checker: Checker;
  readonly #log: (what: string) => void;
  /** Runs per call so far. */
  readonly #runs = new Map<number, number>();

  constructor(checker: Checker, log: (what: string) => void) {
    this.#checker = checker;
    this.#log = log;
  }

  run(clock: Clock, payload: Payload, ctx: HandlerContext): unknown {
    const { call, echo, mode } = payload;
    this.#checker.ran(call, ctx.attempt);
    const runs = (this.#runs.get(call) ?? 0) + 1;
    this.#runs.set(call, runs);
    this.#log(`${ctx.workerId} runs call ${call} attempt ${ctx.attempt} (${mode})`);
    const output = { call, attempt: ctx.attempt, echo };
    if (mode === 'sync') return output;
    if (mode === 'throw') throw new SimError(`call ${call} fails`, false);
    return this.#slow(clock, payload, ctx, runs, output);
  }

  async #slow(
    clock: Clock,
    payload: Payload,
    ctx: HandlerContext,
    runs: number,
    output: unknown,
  ): Promise<unknown> {
    const { call, mode, delayMs } = payload;
    switch (mode) {
      case 'async':
        await sleep(clock, delayMs);
        return output;
      case 'abortable':
        await sleep(clock, delayMs, ctx.signal);
        return output;
      case 'ignore-signal':
        await sleep(clock, delayMs);
        return output;
      case 'retryable':
        await sleep(clock, delayMs);
        if (runs <= payload.failRuns) {
          this.#checker.retryableError(call);
          throw new SimError(`retryable failure of call ${call}`, true);
        }
        return output;
      default:
        throw new Error(`unknown mode ${mode}`);
    }
  }
}
