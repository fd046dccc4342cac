/**
 * A claimed task's record built from its submitter's own copy ({@link KnownRecord})
 * and the few fields a lean claim reads (`redis-scripts-add-claim.ts` CLAIM): those that
 * can change while a task waits in the backlog (attempts, a cancel request, the
 * last attempt's worker and start). Everything else in a record is written once,
 * by its submitter, so the copy it kept is what the record holds — and reading
 * the whole record back (its payload included) cost the claim most of its time
 * in Redis and in the client (measured: scripts/bench/durable-floor.ts).
 *
 * The fields read are checked as `decodeRecord` checks them; one that does not
 * read gives no record, and the store reads that task's record in full instead.
 */
import { isValidId } from '@ringcast/protocol';
import type { DurableRecord } from './record.js';
import type { KnownRecord } from './store.js';

/** Decimal integers as the store writes them (as record-decode.ts reads them). */
const INTEGER = /^(?:0|[1-9][0-9]{0,15})$/;

/**
 * The record of task `id`, claimed by `owner`, from `copy` and the lean claim's
 * `[id, attempts, cancel, worker, startedAt]` (each null when absent), or
 * undefined if the copy is not this task's or a field read does not hold.
 */
export function knownRecord(
  copy: KnownRecord,
  id: string,
  owner: string,
  reply: readonly unknown[],
): DurableRecord | undefined {
  const task = copy.record;
  if (task.id !== id) return undefined;
  // A packed record has no attempts field until an attempt started.
  const attempts = reply[1] === null ? 0 : count(reply[1]);
  const cancel = reply[2];
  const worker = reply[3];
  const startedAt = reply[4] === null ? undefined : count(reply[4]);
  if (attempts === undefined || (cancel !== null && cancel !== '1')) return undefined;
  if (worker !== null && !isValidId(worker)) return undefined;
  if (reply[4] !== null && startedAt === undefined) return undefined;
  const record: DurableRecord = {
    id,
    handler: task.handler,
    state: 'active',
    priority: task.priority,
    attempts,
    owner,
    createdAt: copy.createdAt,
    timeoutMs: task.timeoutMs,
    retries: task.retries,
    resultTtlMs: task.resultTtlMs,
    cancelRequested: cancel === '1',
  };
  if (task.payloadJson !== undefined) record.payloadJson = task.payloadJson;
  else if (task.payload !== undefined) record.payload = task.payload;
  if (typeof worker === 'string') record.worker = worker;
  if (startedAt !== undefined) record.startedAt = startedAt;
  if (task.runAt !== undefined) record.runAt = task.runAt;
  if (task.expiresAt !== undefined) record.expiresAt = task.expiresAt;
  if (task.key !== undefined) record.key = task.key;
  if (task.trace !== undefined) record.trace = task.trace;
  return record;
}

function count(value: unknown): number | undefined {
  if (typeof value !== 'string' || !INTEGER.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}
