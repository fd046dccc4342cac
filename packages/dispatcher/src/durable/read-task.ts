/**
 * One durable task's record, read straight from Redis without a dispatcher:
 * for tools (`ringcast inspect`) that look at a deployment from outside.
 */
import { ErrorCode, names, RingcastError } from '@ringcast/protocol';
import { decodeRecord, MalformedRecords } from './record.js';
import { type TaskInfo, taskInfo } from './task-info.js';

/** What {@link readTask} needs of a Redis client (an ioredis `Redis` has it). */
export interface TaskRecordReader {
  hgetall(key: string): Promise<Record<string, string>>;
}

/**
 * The durable task `id` as `dispatcher.task(id)` shows it, or undefined when
 * there is no record (never stored, or expired after `resultTtlMs`). Throws a
 * `RingcastError` with `INVALID_OPTIONS` for an invalid namespace or id, and
 * with `INVALID_MESSAGE` for a record that does not hold together (naming the
 * first field that is wrong).
 */
export async function readTask(
  redis: TaskRecordReader,
  options: { namespace?: string },
  id: string,
): Promise<TaskInfo | undefined> {
  const hash = await redis.hgetall(names(options.namespace).taskKey(id));
  if (Object.keys(hash).length === 0) return undefined;
  const malformed = new MalformedRecords();
  const record = decodeRecord(hash, malformed, id);
  if (record === undefined) {
    const field = Object.keys(malformed.snapshot())[0] ?? 'record';
    throw new RingcastError(
      ErrorCode.INVALID_MESSAGE,
      `task ${id}'s record cannot be read: its field ${JSON.stringify(field)} is malformed`,
    );
  }
  return taskInfo(record);
}
