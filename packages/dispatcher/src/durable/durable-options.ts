/**
 * The options of a durable task (`submit()`, `dispatch(…, { durable: true })`):
 * those of `dispatch()` (checked by admission.ts, the same bounds and errors),
 * less `signal` (a durable task outlives its caller: `cancel(id)` stops it),
 * plus `resultTtlMs` and `maxWaitMs`. Integers only where a record stores them.
 */
import { ErrorCode, MAX_TIMER_MS } from '@ringcast/protocol';
import {
  blankCallOptions,
  type DispatchOptions,
  isOptionsObject,
  readCallOptions,
} from '../admission.js';
import { DispatchError } from '../errors.js';
import { DEFAULT_RESULT_TTL_MS } from './record.js';

/** The longest a finished record may be kept: 30 days. */
export const MAX_RESULT_TTL_MS = 30 * 24 * 60 * 60 * 1000;

/** Options of `submit()`. */
export interface SubmitOptions extends Omit<DispatchOptions, 'signal'> {
  /**
   * Bounds the task's time once a dispatcher claimed it (state `active`): its
   * attempts, retries and acks, not its wait in the backlog (see `maxWaitMs`).
   * Past it the task fails `TIMEOUT`. @defaultValue the dispatcher's `timeoutMs`
   */
  timeoutMs?: number;
  /**
   * How long the finished record (state, result or error) is kept in Redis, in
   * ms from when it finished: 1 ms to 30 days. @defaultValue 86400000 (24 h)
   */
  resultTtlMs?: number;
  /**
   * A task no dispatcher claimed within this many ms of being due fails
   * `EXPIRED` instead of starting late. @defaultValue no bound
   */
  maxWaitMs?: number;
}

/** Options of `dispatch()` for a durable task. */
export interface DurableDispatchOptions extends SubmitOptions {
  durable: true;
}

/** A durable call's options once checked. */
export interface DurableCallOptions {
  timeoutMs: number;
  retries: number;
  key: string | undefined;
  priority: number;
  /** When the task is due (epoch ms); 0: now. */
  runAt: number;
  resultTtlMs: number;
  maxWaitMs: number | undefined;
}

function invalid(message: string, cause?: unknown): DispatchError {
  return new DispatchError(
    ErrorCode.INVALID_OPTIONS,
    `invalid durable task options: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

function integerIn(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const got = typeof value === 'number' ? String(value) : typeof value;
    throw invalid(`${name} must be an integer from ${min} to ${max}, got ${got}`);
  }
  return value;
}

/**
 * Checks a durable call's `options`; throws a {@link DispatchError}
 * (`INVALID_OPTIONS`) for any bad one, before anything is written.
 */
export function readDurableOptions(
  options: unknown,
  defaultTimeoutMs: number,
  now: number,
): DurableCallOptions {
  let rest: unknown = options;
  let durable: unknown;
  let resultTtlMs: unknown;
  let maxWaitMs: unknown;
  if (options !== undefined) {
    if (!isOptionsObject(options)) {
      throw invalid('options must be an object');
    }
    try {
      const {
        durable: d,
        resultTtlMs: r,
        maxWaitMs: m,
        ...others
      } = options as Record<string, unknown>;
      durable = d;
      resultTtlMs = r;
      maxWaitMs = m;
      rest = others;
    } catch (error) {
      throw invalid('reading them threw', error);
    }
  }
  if (durable !== undefined && durable !== true) throw invalid('durable must be true if given');
  const call = blankCallOptions();
  readCallOptions(rest, defaultTimeoutMs, now, call);
  if (call.signal !== undefined) {
    throw invalid(
      'a durable task takes no signal: it outlives its caller; stop it with cancel(id)',
    );
  }
  return {
    // The record keeps whole milliseconds.
    timeoutMs: Math.ceil(call.timeoutMs),
    retries: call.retries,
    key: call.key,
    priority: call.priority,
    runAt: Math.ceil(call.runAt),
    resultTtlMs:
      resultTtlMs === undefined
        ? DEFAULT_RESULT_TTL_MS
        : integerIn('resultTtlMs', resultTtlMs, 1, MAX_RESULT_TTL_MS),
    maxWaitMs:
      maxWaitMs === undefined ? undefined : integerIn('maxWaitMs', maxWaitMs, 1, MAX_TIMER_MS),
  };
}

/**
 * Whether `dispatch()` was asked for a durable task. Reads one property; a
 * hostile `options` that throws here is left for admission to refuse.
 */
export function wantsDurable(options: unknown): boolean {
  if (typeof options !== 'object' || options === null) return false;
  try {
    return (options as { durable?: unknown }).durable === true;
  } catch {
    return false;
  }
}
