/**
 * A durable submit's new record, from the caller's arguments: checked here,
 * before anything is stored, so a call that cannot run is refused at once
 * (a handler no live worker has, a task too large for the wire or for every
 * worker that could run it). The payload is encoded once, and that text is
 * what is stored and sent.
 */
import { ErrorCode } from '@ringcast/protocol';
import { encodePayload } from '../admission.js';
import { DispatchError } from '../errors.js';
import { exactTaskBytes, tooLargeForWorkers } from '../task-size.js';
import type { DurableHost } from './durable-context.js';
import { readDurableOptions } from './durable-options.js';
import type { NewRecord } from './record.js';

/** The record `submit(handler, payload, options)` at `now` stores; throws the `DispatchError` that refuses it. */
export function newRecord(
  host: DurableHost,
  handler: unknown,
  payload: unknown,
  options: unknown,
  now: number,
): NewRecord {
  if (typeof handler !== 'string' || handler.length === 0 || handler.length > 128) {
    const message = 'handler must be a name of 1 to 128 characters';
    throw new DispatchError(ErrorCode.UNKNOWN_HANDLER, message);
  }
  const call = readDurableOptions(options, host.options.timeoutMs, now);
  const payloadJson = encodePayload(payload);
  const id = host.newTaskId();
  const bytes = exactTaskBytes(id, host.id, handler, payloadJson);
  const { maxMessageBytes } = host.options;
  if (bytes > maxMessageBytes) {
    const message = `task of ${bytes} bytes exceeds maxMessageBytes (${maxMessageBytes})`;
    throw new DispatchError(ErrorCode.PAYLOAD_TOO_LARGE, message);
  }
  if (host.membership.size > 0) {
    const largest = host.membership.largestFrameFor(handler);
    if (largest === undefined) {
      const message = `no live worker has a handler named ${JSON.stringify(handler)}`;
      throw new DispatchError(ErrorCode.UNKNOWN_HANDLER, message);
    }
    if (bytes > largest) throw tooLargeForWorkers(bytes, handler, largest);
  }
  const record: NewRecord = {
    id,
    handler,
    payloadJson,
    priority: call.priority,
    timeoutMs: call.timeoutMs,
    retries: call.retries,
    resultTtlMs: call.resultTtlMs,
  };
  if (call.runAt > 0) record.runAt = call.runAt;
  if (call.maxWaitMs !== undefined) record.expiresAt = (call.runAt || now) + call.maxWaitMs;
  if (call.key !== undefined) record.key = call.key;
  return record;
}
