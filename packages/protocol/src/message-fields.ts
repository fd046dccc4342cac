/**
 * The checks every field of an untrusted message goes through, for both its
 * object form (parse-message.ts) and its compact form (compact-messages.ts):
 * each throws {@link ProtocolError} `INVALID_MESSAGE` naming the field.
 */
import { ErrorCode, ProtocolError, type RemoteError } from './errors.js';
import { MAX_MESSAGE_BYTES, MIN_MESSAGE_BYTES } from './limits.js';
import type { TaskMessage } from './messages.js';
import type { TraceContext } from './trace-context.js';

/** Worker and dispatcher ids end up in channel and key names, so they are kept to a safe alphabet. */
export const ID_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;
/** Longest text field (ids, names, handler names), unless a field says otherwise. */
export const MAX_TEXT = 128;
/** Longest token or incarnation. */
export const MAX_TOKEN = 64;
/** Longest error message a reply may carry. */
export const MAX_ERROR_MESSAGE = 8192;

export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

/** Fields recovered from an invalid message, so a worker can still nack it to the right dispatcher. */
export interface MessageContext {
  kind?: string;
  id?: string;
  token?: string;
  replyTo?: string;
}

export function fail(what: string): never {
  throw new ProtocolError(ErrorCode.INVALID_MESSAGE, `invalid message: ${what}`);
}

export function text(obj: Record<string, unknown>, key: string, max = MAX_TEXT): string {
  return asText(obj[key], key, max);
}

export function asText(v: unknown, name: string, max = MAX_TEXT): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) {
    fail(`"${name}" must be a string of 1 to ${max} characters`);
  }
  return v;
}

/**
 * The last id `safeId` accepted. A frame repeats one sender's id in every message
 * (replyTo in tasks, worker in replies), so comparing with it spares the pattern
 * test for all but the first.
 */
let lastSafeId: string | null = null;

export function safeId(obj: Record<string, unknown>, key: string): string {
  return asSafeId(obj[key], key);
}

export function asSafeId(v: unknown, name: string): string {
  if (typeof v === 'string' && v === lastSafeId) return v;
  if (!isValidId(v)) fail(`"${name}" must match ${ID_PATTERN}`);
  lastSafeId = v;
  return v;
}

export function int(obj: Record<string, unknown>, key: string, min: number, max: number): number {
  return asInt(obj[key], key, min, max);
}

export function asInt(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail(`"${name}" must be an integer from ${min} to ${max}`);
  }
  return v;
}

/** A frame limit a sender advertises. */
export function maxBytes(v: unknown, name: string): number {
  return asInt(v, name, MIN_MESSAGE_BYTES, MAX_MESSAGE_BYTES);
}

export function finite(obj: Record<string, unknown>, key: string): number {
  return asFinite(obj[key], key);
}

export function asFinite(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`"${name}" must be a finite number`);
  return v;
}

export function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(`${what} must be an object`);
  }
  return value as Record<string, unknown>;
}

/** A result's `error`: the remote error's name, message, retryability and code. */
export function remoteError(value: unknown): RemoteError {
  const o = record(value, '"error"');
  const name = text(o, 'name');
  const message = o['message'];
  if (typeof message !== 'string' || message.length > MAX_ERROR_MESSAGE) {
    fail(`"error.message" must be a string of at most ${MAX_ERROR_MESSAGE} characters`);
  }
  if (typeof o['retryable'] !== 'boolean') fail('"error.retryable" must be a boolean');
  const out: RemoteError = { name, message, retryable: o['retryable'] };
  if (o['code'] !== undefined) out.code = text(o, 'code', 64);
  return out;
}

/**
 * Told of a field that parsing left out of a message it kept: a task's trace
 * context that did not validate. The task runs, untraced.
 */
export type DroppedField = (error: ProtocolError) => void;

/** The default for {@link DroppedField}: nobody counts them. */
export function ignoreDropped(): void {}

/** Puts a validated trace context on `task`. */
export function addTrace(task: TaskMessage, trace: TraceContext | undefined): void {
  if (trace === undefined) return;
  task.traceparent = trace.traceparent;
  if (trace.tracestate !== undefined) task.tracestate = trace.tracestate;
}
