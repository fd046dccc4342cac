/**
 * Checks shared by the dispatcher's and the worker's option parsers, so that
 * both sides accept the same values for the same kind of option.
 */
import { clusterTargetProblem, isClusterTarget } from './cluster-target.js';
import { isRedisClient } from './connection.js';
import { redactUrl } from './redact.js';

/**
 * Longest delay Node's timers honour: a longer one is clamped to 1 ms, so an
 * interval meant to be long would fire every millisecond instead.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Throws the side's own `INVALID_OPTIONS` error with `message`. */
export type OptionFailure = (message: string) => never;

/** A value as it may appear in an error message: short, and never a whole string. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 80));
  if (typeof value === 'function') return 'a function';
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}

/** An integer from `min` to `max`, or a failure naming the option. */
export function checkInteger(
  fail: OptionFailure,
  name: string,
  value: unknown,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(`${name} must be an integer from ${min} to ${max}, got ${describeValue(value)}`);
  }
  return value;
}

/** A delay or interval in milliseconds: an integer from `min` to {@link MAX_TIMER_MS}. */
export function checkTimer(fail: OptionFailure, name: string, value: unknown, min: number): number {
  return checkInteger(fail, name, value, min, MAX_TIMER_MS);
}

/**
 * A `redis://` or `rediss://` URL that parses. The scheme is matched exactly:
 * ioredis reads `Rediss://` as a URL but connects without TLS, and anything
 * else as a socket path. Quoted redacted, as every URL is.
 */
export function checkRedisUrl(fail: OptionFailure, url: string): string {
  const quoted = JSON.stringify(redactUrl(url).slice(0, 200));
  if (!/^rediss?:\/\//.test(url)) {
    fail(`redis URL must start with redis:// or rediss://, got ${quoted}`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    fail(`redis URL is not a valid URL: ${quoted}`);
  }
  if (parsed.searchParams.has('keyPrefix')) fail(KEY_PREFIX);
  return url;
}

const KEY_PREFIX =
  'redis must not set keyPrefix: ringcast names its own keys and channels under its namespace, ' +
  'and a prefix would apply to its keys but not to its channels (use the namespace option instead)';

/**
 * The `redis` option: a URL (see {@link checkRedisUrl}), ioredis options, or a
 * client. Options or a client with a `keyPrefix` are refused: ioredis prefixes
 * keys but not pub/sub channels, so the registry would be read under the wrong
 * name while tasks still flowed, and every dispatch would fail `NO_WORKERS`.
 */
export function checkRedis<T>(fail: OptionFailure, value: unknown): T {
  if (typeof value === 'string') return checkRedisUrl(fail, value) as T;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(`redis must be a URL, ioredis options or an ioredis client, got ${describeValue(value)}`);
  }
  if (isClusterTarget(value)) {
    const problem = clusterTargetProblem(value as object);
    if (problem === 'keyPrefix') fail(KEY_PREFIX);
    if (problem !== undefined) fail(problem);
  }
  const options = isRedisClient(value) ? (value as { options?: unknown }).options : value;
  const prefix = (options as { keyPrefix?: unknown } | undefined)?.keyPrefix;
  if (prefix !== undefined && prefix !== '') fail(KEY_PREFIX);
  return value as T;
}
