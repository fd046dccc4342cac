/**
 * Reading the Redis store's script replies as untrusted: a reply of an
 * unexpected shape reads as nothing or fails its call, never as a value it
 * does not hold (only a script of another version could answer so).
 */
import { describeValue, ErrorCode } from '@ringcast/protocol';
import { DispatchError } from '../errors.js';
import type { RawRecord } from './quarantine.js';

/** Whether a settle's reply says it settled (the common reply: an integer, not a table). */
export function isSettled(reply: unknown): boolean {
  return reply === 1;
}

/**
 * A run script's replies, one per operation; `{ 'error', message }` (a Redis
 * error inside that operation) as an Error. A reply that is not a list of
 * that many items fails the whole run: only a script of another version
 * could answer so.
 */
export function repliesOf(reply: unknown, count: number, what: string): unknown[] {
  if (!Array.isArray(reply) || reply.length !== count) throw unexpected(what, reply);
  return reply.map((item: unknown) =>
    Array.isArray(item) && item.length === 2 && item[0] === 'error'
      ? new DispatchError(ErrorCode.REDIS_ERROR, `the ${what} script failed: ${String(item[1])}`)
      : item,
  );
}

/** The error of a call whose reply is of no shape its script gives. */
export function unexpected(what: string, reply: unknown): DispatchError {
  return new DispatchError(
    ErrorCode.REDIS_ERROR,
    `unexpected reply from the ${what} script: ${describeValue(reply)}`,
  );
}

/** A flat HGETALL reply as a hash; non-string items are skipped. */
export function hashOf(reply: unknown): Record<string, string> {
  const hash = Object.create(null) as Record<string, string>;
  if (!Array.isArray(reply)) return hash;
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const field: unknown = reply[i];
    const value: unknown = reply[i + 1];
    if (typeof field === 'string' && typeof value === 'string') hash[field] = value;
  }
  return hash;
}

/** `{ { id, HGETALL }, ... }` as raw records; items of another shape are skipped. */
export function rawRecords(reply: unknown): RawRecord[] {
  if (!Array.isArray(reply)) return [];
  const raws: RawRecord[] = [];
  for (const item of reply) {
    if (!Array.isArray(item) || typeof item[0] !== 'string') continue;
    raws.push({ id: item[0], hash: hashOf(item[1]) });
  }
  return raws;
}
