/**
 * One durable task's record, read straight from Redis without a dispatcher:
 * for tools (`ringcast inspect`) that look at a deployment from outside.
 */
import {
  type AuthOptions,
  describeUnopened,
  ErrorCode,
  FrameSealer,
  isClusterTarget,
  names,
  parseAuthOptions,
  RingcastError,
} from '@ringcast/protocol';
import { decodeRecord, MalformedRecords, type UnopenedFields } from './record-decode.js';
import { recordKeys } from './record-seal.js';
import { type TaskInfo, taskInfo } from './task-info.js';

/** What {@link readTask} needs of a Redis client (an ioredis `Redis` has it). */
export interface TaskRecordReader {
  hgetall(key: string): Promise<Record<string, string>>;
}

/**
 * The durable task `id` as `dispatcher.task(id)` shows it, or undefined when
 * there is no record (never stored, or expired after `resultTtlMs`). Throws a
 * `RingcastError` with `INVALID_OPTIONS` for an invalid client, options,
 * namespace or id, and
 * with `INVALID_MESSAGE` for a record that does not hold together (naming the
 * first field that is wrong).
 *
 * Sealed fields (`auth.encrypt`) are opened with `options.auth`, the
 * deployment's keyring; those it cannot open (no `auth`, or a key it lacks)
 * are left out and named in the result's `encrypted`, never thrown.
 */
export async function readTask(
  redis: TaskRecordReader,
  options: { namespace?: string; auth?: AuthOptions },
  id: string,
): Promise<TaskInfo | undefined> {
  if (typeof (redis as Partial<TaskRecordReader> | null)?.hgetall !== 'function') {
    throw new RingcastError(
      ErrorCode.INVALID_OPTIONS,
      'readTask needs a Redis client (an ioredis Redis or Cluster)',
    );
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new RingcastError(
      ErrorCode.INVALID_OPTIONS,
      'readTask options must be an object: { namespace?, auth? }',
    );
  }
  const key = names(options.namespace, { cluster: isClusterTarget(redis) }).taskKey(id);
  const keys = recordKeys(options.auth && new FrameSealer(parseAuthOptions(options.auth)));
  const hash = await redis.hgetall(key);
  if (Object.keys(hash).length === 0) return undefined;
  const malformed = new MalformedRecords();
  const unopened: UnopenedFields = new Map();
  const record = decodeRecord(hash, malformed, id, keys, unopened);
  if (record === undefined) {
    throw new RingcastError(
      ErrorCode.INVALID_MESSAGE,
      `task ${id}'s record cannot be read: ${malformed.lastProblem}`,
    );
  }
  const info = taskInfo(record);
  if (unopened.size > 0) {
    info.encrypted = {};
    for (const [field, value] of unopened) info.encrypted[field] = describeUnopened(value);
  }
  return info;
}
