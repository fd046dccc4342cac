/**
 * How many bytes a task's frame takes, so that no task goes to a worker that
 * would drop it unread. Counted roughly (from UTF-16 lengths) on every
 * dispatch, and exactly only when the rough bound might not fit.
 */
import { ErrorCode, type TraceContext } from '@ringcast/protocol';
import { DispatchError } from './errors.js';

/**
 * Bytes a task's compact message and its frame take beyond the task's id, the
 * dispatcher's id, the handler and the payload: punctuation and quotes (~15), a
 * deadline (up to 24 digits), the attempt number (7) and the frame with our
 * frame limit in it (~50), with room to spare. With the id counted twice, that
 * room holds what a re-send adds (the incarnation it names, up to 64
 * characters), so a task that fits its worker fits it again when recovery
 * re-sends it: task-size.test.ts holds the bound to both.
 */
const TASK_OVERHEAD = 160;
/** Longest a handler name (at most 128 characters) can be once JSON-escaped: `\uXXXX` each, and quotes. */
const MAX_HANDLER_JSON = 128 * 6 + 2;

/**
 * An upper bound of a task's frame: ids are ASCII; the handler and payload are
 * bounded by their escaped length at most 6 bytes per handler character and 3
 * per payload character.
 */
export function roughTaskBytes(
  id: string,
  dispatcherId: string,
  payloadJson: string | undefined,
): number {
  let bytes = TASK_OVERHEAD + 2 * id.length + dispatcherId.length + MAX_HANDLER_JSON;
  if (payloadJson !== undefined) bytes += payloadJson.length * 3;
  return bytes;
}

/** Exact bytes of a task's frame (the attempt number and deadline at their longest). */
export function exactTaskBytes(
  id: string,
  dispatcherId: string,
  handler: string,
  payloadJson: string | undefined,
): number {
  return (
    TASK_OVERHEAD +
    2 * id.length +
    dispatcherId.length +
    Buffer.byteLength(JSON.stringify(handler)) +
    (payloadJson === undefined ? 0 : Buffer.byteLength(payloadJson))
  );
}

/**
 * Bytes a trace context adds to a task's compact message, at most: the
 * traceparent (hex, never escaped) and the tracestate (printable ASCII, whose
 * quotes and backslashes escape to two), each quoted, with their commas and brackets.
 */
export function traceBytes(trace: TraceContext | undefined): number {
  if (trace === undefined) return 0;
  const parent = trace.traceparent.length + 3;
  return trace.tracestate === undefined ? parent : parent + 2 * trace.tracestate.length + 5;
}

export function tooLargeForWorkers(bytes: number, handler: string, largest: number): DispatchError {
  return new DispatchError(
    ErrorCode.PAYLOAD_TOO_LARGE,
    `task of ${bytes} bytes exceeds the largest frame any live worker with handler ` +
      `${JSON.stringify(handler)} accepts (${largest} bytes)`,
  );
}
