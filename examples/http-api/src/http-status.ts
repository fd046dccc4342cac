// Which HTTP status a client gets for each way a task can fail. A `Record` over every
// code, so a code added to ringcast does not compile until someone decides its status.
import { ErrorCode } from '@ringcast/dispatcher';

const SERVICE_UNAVAILABLE = 503;

export const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  // Nobody could take the task now; the client may try again later (Retry-After).
  [ErrorCode.NO_WORKERS]: SERVICE_UNAVAILABLE,
  [ErrorCode.QUEUE_FULL]: SERVICE_UNAVAILABLE,
  [ErrorCode.BUSY]: SERVICE_UNAVAILABLE,
  [ErrorCode.DRAINING]: SERVICE_UNAVAILABLE,
  [ErrorCode.WORKER_LOST]: SERVICE_UNAVAILABLE,
  [ErrorCode.CLOSED]: SERVICE_UNAVAILABLE,
  [ErrorCode.REDIS_ERROR]: SERVICE_UNAVAILABLE,
  // Deployed workers without the handler: the service is not (yet) there.
  [ErrorCode.UNKNOWN_HANDLER]: SERVICE_UNAVAILABLE,
  // The client went away (its request aborted the task): nobody reads this answer.
  [ErrorCode.CANCELLED]: SERVICE_UNAVAILABLE,
  [ErrorCode.TIMEOUT]: 504,
  [ErrorCode.EXPIRED]: 504,
  // The work itself failed, or its answer could not be read: an upstream failure.
  [ErrorCode.HANDLER_ERROR]: 502,
  [ErrorCode.INVALID_MESSAGE]: 502,
  [ErrorCode.UNSUPPORTED_VERSION]: 502,
  [ErrorCode.PAYLOAD_TOO_LARGE]: 413,
  // Our own mistakes, not the client's.
  [ErrorCode.INVALID_OPTIONS]: 500,
  [ErrorCode.DUPLICATE_WORKER]: 500,
  [ErrorCode.DUPLICATE_DISPATCHER]: 500,
};

/** Codes after which the same request may well succeed later: answered with Retry-After. */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set(
  Object.entries(STATUS_BY_CODE)
    .filter(([, status]) => status === SERVICE_UNAVAILABLE || status === 504)
    .map(([code]) => code),
);
