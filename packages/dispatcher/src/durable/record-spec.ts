/**
 * The packed part of a durable task's record: everything its submitter decides
 * once and nothing changes afterwards (handler, priority, times, bounds,
 * routing key, trace context) in one hash field, `spec`, instead of one field
 * each. A record is then `state`, `spec`, `payload` and, while it runs, `owner`
 * at add; the fields that change (attempts, worker, startedAt, finishedAt,
 * result, error, cancel) stay fields of their own, so that the scripts write
 * them alone. Redis stores, writes and reads a hash of 3 or 4 fields for far
 * less than one of 11 to 13 (measured: scripts/bench/durable-floor.ts), and
 * the dispatcher sends and encodes fewer strings per add.
 *
 * `spec` is a JSON array led by the version and the numbers the scripts read
 * (`redis-script-helpers.ts` `spec_head`, mirrored by {@link specHead}):
 *
 *   [1, priority, createdAt, resultTtlMs, expiresAt, runAt, timeoutMs, retries,
 *    handler, key, traceparent, tracestate]
 *
 * with `null` for an absent value; trailing nulls are left out. The id is the
 * one its key names (a record is always read by its id). The payload keeps its
 * own field: the hot scripts read `spec` (a settle, for the TTL) and should
 * not copy the payload to do so. A short spec (a short handler name, no key or
 * trace) stays under Redis's 64-byte listpack value bound, so a record with a
 * small payload and outcome keeps the compact encoding.
 *
 * Records written before the packed layout (every immutable value a field of
 * its own) are read as they are: {@link specFields} turns a packed record
 * into that layout's fields, so one reader checks both.
 */

/** The hash field that holds the packed part. */
export const SPEC_FIELD = 'spec';
/** The packed layout's version, the spec's first element. */
const SPEC_VERSION = 1;

/** What {@link encodeSpec} packs. */
export interface SpecValues {
  handler: string;
  priority: number;
  createdAt: number;
  timeoutMs: number;
  retries: number;
  resultTtlMs: number;
  runAt?: number | undefined;
  expiresAt?: number | undefined;
  key?: string | undefined;
  traceparent?: string | undefined;
  tracestate?: string | undefined;
}

/** The legacy field each spec element stands for, by position (0 is the version). */
const ELEMENTS = [
  ['priority', 'number'],
  ['createdAt', 'number'],
  ['resultTtlMs', 'number'],
  ['expiresAt', 'number'],
  ['runAt', 'number'],
  ['timeoutMs', 'number'],
  ['retries', 'number'],
  ['handler', 'string'],
  ['key', 'string'],
  ['traceparent', 'string'],
  ['tracestate', 'string'],
] as const;

/** The `spec` field's text for `values`. */
export function encodeSpec(values: SpecValues): string {
  const spec: Array<string | number | null> = [
    SPEC_VERSION,
    integer(values.priority),
    integer(values.createdAt),
    integer(values.resultTtlMs),
    values.expiresAt === undefined ? null : integer(values.expiresAt),
    values.runAt === undefined ? null : integer(values.runAt),
    integer(values.timeoutMs),
    integer(values.retries),
    values.handler,
    values.key ?? null,
    values.traceparent ?? null,
    values.tracestate ?? null,
  ];
  while (spec[spec.length - 1] === null) spec.pop();
  return JSON.stringify(spec);
}

/**
 * A number as the spec holds it; one that is not a safe integer (NaN, say,
 * which JSON would write as null) as text, which does not read back: the
 * store's check of a new record (requests.ts) refuses it, naming its field.
 */
function integer(value: number): number | string {
  return Number.isSafeInteger(value) ? value : String(value);
}

/** Why a spec does not read: the legacy field whose value is wrong (`spec` for its shape). */
export class BadSpec {
  constructor(readonly field: string) {}
}

/**
 * The legacy fields a `spec` stands for, as strings (numbers in decimal),
 * absent values left out. Throws {@link BadSpec} for a spec that does not read.
 */
export function specFields(spec: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(spec);
  } catch {
    throw new BadSpec(SPEC_FIELD);
  }
  if (!Array.isArray(parsed) || parsed[0] !== SPEC_VERSION || parsed.length > ELEMENTS.length + 1) {
    throw new BadSpec(SPEC_FIELD);
  }
  const fields = Object.create(null) as Record<string, string>;
  for (let i = 0; i < ELEMENTS.length; i++) {
    const value: unknown = parsed[i + 1];
    if (value === null || value === undefined) continue;
    const [field, type] = ELEMENTS[i]!;
    if (typeof value !== type) throw new BadSpec(field);
    if (type === 'number' && !Number.isSafeInteger(value)) throw new BadSpec(field);
    fields[field] = String(value);
  }
  return fields;
}

/**
 * The leading numbers of a spec as the scripts read them (`spec_head`), as
 * stored text: priority, createdAt, resultTtlMs, expiresAt (`null` for none);
 * undefined for a spec that does not lead with them.
 */
export function specHead(
  spec: string | null | undefined,
): [priority: string, createdAt: string, resultTtlMs: string, expiresAt: string] | undefined {
  if (typeof spec !== 'string') return undefined;
  const m = /^\[1,([^,]*),([^,]*),([^,]*),([^,]*),/.exec(spec);
  return m ? [m[1]!, m[2]!, m[3]!, m[4]!] : undefined;
}
