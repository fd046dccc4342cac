/**
 * The checks a `dispatch()` call passes before anything is sent: its options
 * and its payload. Whatever the caller hands over — a proxy, a throwing getter,
 * an `AbortController` where its signal belongs — ends in a typed error here,
 * never in a half-sent task. They run on every call, so they allocate nothing
 * unless they fail.
 */
import {
  ErrorCode,
  isValidPriority,
  jsonLoss,
  MAX_TIMER_MS,
  PRIORITY_MAX,
  PRIORITY_MIN,
} from '@ringcast/protocol';
import { DispatchError } from './errors.js';

/** The longest routing `key` a task may carry, in UTF-16 code units: hashed on every attempt. */
export const MAX_KEY_LENGTH = 512;

export interface DispatchOptions {
  /** Overrides the dispatcher's `timeoutMs` for this task. */
  timeoutMs?: number;
  /**
   * Times a retryable handler error is retried (exponential backoff with jitter).
   * Each retry is one more run on top of the dispatcher's `maxAttempts`.
   * @defaultValue 0
   */
  retries?: number;
  /** Aborting it rejects the task with `CANCELLED` and cancels it on the worker. */
  signal?: AbortSignal;
  /**
   * The task's routing key (1 to 512 characters), read by the `consistent-hash`
   * strategy: tasks with the same key go to the same worker while membership is
   * stable, and to the next one on the ring while that worker is full, over its
   * load bound, or down. Other strategies ignore it.
   */
  key?: string;
  /**
   * An integer from -1000 to 1000: while every worker is busy, queued tasks of a
   * higher priority go first (oldest first within a priority).
   * @defaultValue 0
   */
  priority?: number;
  /**
   * Not before this many ms from now. The task waits in the dispatcher; its
   * `timeoutMs` counts from when it is due. Not with `runAt`.
   */
  delayMs?: number;
  /** Not before this time (epoch ms), as `delayMs`. A time in the past means now. */
  runAt?: number;
}

/** A call's options once checked. One instance serves every call. */
export interface CallOptions {
  timeoutMs: number;
  retries: number;
  signal: AbortSignal | undefined;
  /** `signal.aborted`, read once. */
  aborted: boolean;
  key: string | undefined;
  priority: number;
  /** When the task is due (epoch ms); 0: now. */
  runAt: number;
}

/** A call's options before any is read: what `readCallOptions` fills in. */
export function blankCallOptions(): CallOptions {
  return {
    timeoutMs: 0,
    retries: 0,
    signal: undefined,
    aborted: false,
    key: undefined,
    priority: 0,
    runAt: 0,
  };
}

/** A call whose options {@link readCallOptions} checks: the keys it takes, and its name in the errors. */
export interface CallShape {
  readonly name: string;
  readonly options: ReadonlySet<string>;
}

/** `dispatch()`, whose options `submit()` takes too, less `signal`, plus its own. */
export const DISPATCH_CALL: CallShape = {
  name: 'dispatch',
  options: new Set([
    'timeoutMs',
    'retries',
    'signal',
    'key',
    'priority',
    'delayMs',
    'runAt',
    // dispatch(…, { durable: true }) goes to the durable path before admission; false is the default.
    'durable',
  ]),
};

/** A value named for an error message without calling anything of it. */
function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 64));
  if (value === null) return 'null';
  const type = typeof value;
  return type === 'object' ? 'an object' : type === 'undefined' ? 'undefined' : `a ${type}`;
}

/** What a thrown value says, without letting a hostile one throw again. */
export function thrownMessage(error: unknown): string {
  try {
    return error instanceof Error ? String(error.message) : describe(error);
  } catch {
    return 'an unreadable error';
  }
}

/**
 * Whether `value` can be a call's options: an object, and not an array (it
 * would carry no option, or `"0"`, and say nothing useful). A revoked proxy
 * passes here, to be refused when reading it throws.
 */
export function isOptionsObject(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false;
  try {
    return !Array.isArray(value);
  } catch {
    return true;
  }
}

function invalid(call: CallShape, message: string, cause?: unknown): DispatchError {
  return new DispatchError(
    ErrorCode.INVALID_OPTIONS,
    `invalid ${call.name} options: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * `value.aborted` if `value` can serve as the task's signal — an `AbortSignal`,
 * or something with its shape (from another realm or a polyfill) — else
 * undefined. An `AbortController`, or `{}`, fails here rather than when the
 * task settles. May throw what the value's getters throw.
 */
function signalState(value: unknown): boolean | undefined {
  if (value instanceof AbortSignal) return value.aborted;
  if (typeof value !== 'object' || value === null) return undefined;
  const s = value as Record<string, unknown>;
  const aborted = s['aborted'];
  if (
    typeof aborted !== 'boolean' ||
    typeof s['addEventListener'] !== 'function' ||
    typeof s['removeEventListener'] !== 'function'
  ) {
    return undefined;
  }
  return aborted;
}

/**
 * Checks a call's `options` (the keys `call` takes, `dispatch()`'s unless
 * told) and writes them, defaults filled in, to `out`. Each
 * field is read once, so a getter cannot answer the check one thing and the
 * dispatcher another. Throws a {@link DispatchError} `INVALID_OPTIONS` (with
 * what was thrown as its `cause`, when reading threw).
 */
export function readCallOptions(
  options: unknown,
  defaultTimeoutMs: number,
  now: number,
  out: CallOptions,
  call: CallShape = DISPATCH_CALL,
): void {
  out.timeoutMs = defaultTimeoutMs;
  out.retries = 0;
  out.signal = undefined;
  out.aborted = false;
  out.key = undefined;
  out.priority = 0;
  out.runAt = 0;
  if (options === undefined) return;
  if (!isOptionsObject(options)) {
    // An object refused here is an array.
    const got = typeof options === 'object' && options !== null ? 'an array' : describe(options);
    throw invalid(call, `options must be an object, got ${got}`);
  }
  let unknown: string | undefined;
  let timeoutMs: unknown;
  let retries: unknown;
  let signal: unknown;
  let aborted: boolean | undefined;
  let key: unknown;
  let priority: unknown;
  let delayMs: unknown;
  let runAt: unknown;
  let durable: unknown;
  try {
    for (const name in options) {
      if (!call.options.has(name)) {
        unknown = name;
        break;
      }
    }
    const o = options as Record<string, unknown>;
    timeoutMs = o['timeoutMs'];
    retries = o['retries'];
    signal = o['signal'];
    key = o['key'];
    priority = o['priority'];
    delayMs = o['delayMs'];
    runAt = o['runAt'];
    durable = o['durable'];
    if (signal !== undefined) aborted = signalState(signal);
  } catch (error) {
    throw invalid(call, `reading them threw: ${thrownMessage(error)}`, error);
  }
  if (unknown !== undefined)
    throw invalid(call, `unknown option ${JSON.stringify(unknown.slice(0, 64))}`);
  if (durable !== undefined && durable !== false) {
    throw invalid(call, `durable must be true or false, got ${describe(durable)}`);
  }
  if (timeoutMs !== undefined) {
    // Capped as the dispatcher's own timers are (the shared validator's rule), so a
    // task's timeout means the same whether it was set per call or per dispatcher.
    if (
      typeof timeoutMs !== 'number' ||
      !Number.isFinite(timeoutMs) ||
      timeoutMs <= 0 ||
      timeoutMs > MAX_TIMER_MS
    ) {
      throw invalid(
        call,
        `timeoutMs must be a positive number up to ${MAX_TIMER_MS}, got ${describe(timeoutMs)}`,
      );
    }
    out.timeoutMs = timeoutMs;
  }
  if (retries !== undefined) {
    if (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0) {
      throw invalid(call, `retries must be a non-negative integer, got ${describe(retries)}`);
    }
    out.retries = retries;
  }
  if (key !== undefined) {
    if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
      const got = typeof key === 'string' ? `${key.length} characters` : describe(key);
      throw invalid(call, `key must be a string of 1 to ${MAX_KEY_LENGTH} characters, got ${got}`);
    }
    out.key = key;
  }
  if (priority !== undefined) {
    if (!isValidPriority(priority)) {
      throw invalid(
        call,
        `priority must be an integer from ${PRIORITY_MIN} to ${PRIORITY_MAX}, got ${describe(priority)}`,
      );
    }
    out.priority = priority;
  }
  if (delayMs !== undefined || runAt !== undefined) out.runAt = dueTime(call, delayMs, runAt, now);
  if (signal !== undefined) {
    if (aborted === undefined) {
      throw invalid(
        call,
        `signal must be an AbortSignal (an AbortController's .signal), got ${describe(signal)}`,
      );
    }
    out.signal = signal as AbortSignal;
    out.aborted = aborted;
  }
}

/**
 * When a task given `delayMs` or `runAt` is due (epoch ms; 0 for now). Either
 * is capped as timers are: a due time further than {@link MAX_TIMER_MS} ahead
 * is refused rather than silently moved.
 */
function dueTime(call: CallShape, delayMs: unknown, runAt: unknown, now: number): number {
  if (delayMs !== undefined && runAt !== undefined) {
    throw invalid(call, 'give delayMs or runAt, not both');
  }
  if (delayMs !== undefined) {
    if (
      typeof delayMs !== 'number' ||
      !Number.isFinite(delayMs) ||
      delayMs < 0 ||
      delayMs > MAX_TIMER_MS
    ) {
      throw invalid(
        call,
        `delayMs must be a number from 0 to ${MAX_TIMER_MS}, got ${describe(delayMs)}`,
      );
    }
    return delayMs === 0 ? 0 : now + delayMs;
  }
  if (typeof runAt !== 'number' || !Number.isFinite(runAt) || runAt - now > MAX_TIMER_MS) {
    throw invalid(
      call,
      `runAt must be a time in epoch ms at most ${MAX_TIMER_MS} ms ahead, got ${describe(runAt)}`,
    );
  }
  return runAt <= now ? 0 : runAt;
}

function unsendable(message: string, cause?: unknown): DispatchError {
  return new DispatchError(
    ErrorCode.INVALID_MESSAGE,
    `payload ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * The payload as JSON, or undefined for `undefined` (no payload). Throws a
 * {@link DispatchError} `INVALID_MESSAGE` for a payload JSON cannot encode (a
 * BigInt, a cycle, a throwing `toJSON`) and for one it would not carry
 * faithfully at the top level: a function or symbol (JSON drops them), and a
 * Map, Set, WeakMap, WeakSet, Promise or Error (JSON writes `{}`) without a
 * `toJSON`, and NaN or ±Infinity (JSON writes `null`). Only the top level is checked: a deep walk would cost every task
 * as much as encoding it; nested values follow JSON's rules.
 */
export function encodePayload(payload: unknown): string | undefined {
  if (payload === undefined) return undefined;
  let json: string | undefined;
  let loss: string | undefined;
  try {
    loss = jsonLoss(payload);
    if (loss === undefined) json = JSON.stringify(payload);
  } catch (error) {
    throw unsendable(`is not JSON-serialisable: ${thrownMessage(error)}`, error);
  }
  if (loss !== undefined) {
    const hint = typeof payload === 'object' ? '; convert it to plain data first' : '';
    throw unsendable(`${loss}${hint}`);
  }
  if (json === undefined) {
    throw unsendable(`${describe(payload)} has no JSON form; pass undefined for no payload`);
  }
  return json;
}
