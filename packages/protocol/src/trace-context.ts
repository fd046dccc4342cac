/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) as a task carries
 * it: a `traceparent` and, optionally, a `tracestate`. Validated strictly on
 * the way in, because both come from the wire or from Redis: whatever does not
 * match is left out, and the task runs untraced.
 */
import { ErrorCode, ProtocolError } from './errors.js';

/** The trace context one attempt of a task carries. */
export interface TraceContext {
  /** `00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>`, lowercase, ids not all zero. */
  traceparent: string;
  /** Vendor entries, `key=value` separated by commas; at most {@link MAX_TRACESTATE} characters. */
  tracestate?: string;
}

/** Length of a version-00 `traceparent`. */
export const TRACEPARENT_LENGTH = 55;
/** Longest `tracestate` kept: the length W3C asks every vendor to propagate whole. */
export const MAX_TRACESTATE = 512;
/** Most list members a `tracestate` may hold (W3C). */
const MAX_TRACESTATE_MEMBERS = 32;

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);
/**
 * One list member: a simple key, or a multi-tenant `tenant@system` key, then
 * `=` and a value of printable ASCII without `,` and `=` that ends in a
 * non-space (W3C tracestate ABNF).
 */
const TRACESTATE_MEMBER =
  /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/** Whether `value` is a version-00 `traceparent` with a trace id and parent id that are not all zeros. */
export function isValidTraceparent(value: unknown): value is string {
  if (typeof value !== 'string' || value.length !== TRACEPARENT_LENGTH) return false;
  const match = TRACEPARENT.exec(value);
  return match !== null && match[1] !== ZERO_TRACE_ID && match[2] !== ZERO_SPAN_ID;
}

/**
 * Whether `value` is a `tracestate` list: at most {@link MAX_TRACESTATE}
 * characters, 1 to 32 members with distinct keys, separated by commas and
 * optional spaces or tabs; empty members are allowed, as W3C asks receivers to.
 */
export function isValidTracestate(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_TRACESTATE) {
    return false;
  }
  const keys = new Set<string>();
  for (const part of value.split(',')) {
    const member = part.replace(/^[ \t]+|[ \t]+$/g, '');
    if (member.length === 0) continue;
    if (!TRACESTATE_MEMBER.test(member)) return false;
    const key = member.slice(0, member.indexOf('='));
    if (keys.has(key)) return false;
    keys.add(key);
  }
  return keys.size > 0 && keys.size <= MAX_TRACESTATE_MEMBERS;
}

/**
 * Reads a trace context from untrusted fields: the context when `traceparent`
 * is valid (with `tracestate` if that is valid too), else undefined. Each
 * field that was present but invalid is passed to `dropped`, with why.
 */
export function readTraceContext(
  traceparent: unknown,
  tracestate: unknown,
  dropped: (error: ProtocolError) => void,
): TraceContext | undefined {
  if (traceparent === undefined) {
    // A tracestate means nothing without the traceparent it goes with.
    if (tracestate !== undefined) dropped(invalidTrace('"tracestate" without a "traceparent"'));
    return undefined;
  }
  if (!isValidTraceparent(traceparent)) {
    dropped(invalidTrace('"traceparent" is not 00-<32 hex>-<16 hex>-<2 hex> with non-zero ids'));
    return undefined;
  }
  if (tracestate === undefined) return { traceparent };
  if (!isValidTracestate(tracestate)) {
    dropped(invalidTrace(`"tracestate" is not a W3C list of at most ${MAX_TRACESTATE} characters`));
    return { traceparent };
  }
  return { traceparent, tracestate };
}

function invalidTrace(why: string): ProtocolError {
  return new ProtocolError(ErrorCode.INVALID_MESSAGE, `invalid trace context: ${why}`);
}
