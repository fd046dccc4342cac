/**
 * A record's hash fields in the layout before the packed one (`record-spec.ts`):
 * every value a field of its own, as stores of that version wrote them. For
 * tests that a store upgraded in place still reads, runs and settles them, and
 * for tests of each field's checks, which a packed record shares.
 */
import type { DurableRecord } from '../durable/record.js';

export function encodeLegacyRecord(record: DurableRecord): Record<string, string> {
  const fields: Record<string, string> = {
    id: record.id,
    handler: record.handler,
    state: record.state,
    priority: String(record.priority),
    attempts: String(record.attempts),
    createdAt: String(record.createdAt),
    timeoutMs: String(record.timeoutMs),
    retries: String(record.retries),
    resultTtlMs: String(record.resultTtlMs),
  };
  const optional: Array<[string, string | undefined]> = [
    ['payload', record.payloadJson ?? json(record.payload)],
    ['worker', record.worker],
    ['owner', record.owner],
    ['startedAt', numeric(record.startedAt)],
    ['finishedAt', numeric(record.finishedAt)],
    ['runAt', numeric(record.runAt)],
    ['expiresAt', numeric(record.expiresAt)],
    ['key', record.key],
    ['result', json(record.result)],
    ['error', json(record.error)],
    ['cancel', record.cancelRequested ? '1' : undefined],
    ['traceparent', record.trace?.traceparent],
    ['tracestate', record.trace?.tracestate],
  ];
  for (const [field, value] of optional) if (value !== undefined) fields[field] = value;
  return fields;
}

function json(value: unknown): string | undefined {
  return value === undefined ? undefined : JSON.stringify(value);
}

function numeric(value: number | undefined): string | undefined {
  return value === undefined ? undefined : String(value);
}
