/**
 * Stable error codes shared by every ringcast package. A code never changes
 * meaning once released; new situations get new codes.
 */
export const ErrorCode = {
  /** No live worker could take the task before its timeout. */
  NO_WORKERS: 'NO_WORKERS',
  /** The task did not settle within its timeout. */
  TIMEOUT: 'TIMEOUT',
  /** The caller aborted the task through its `AbortSignal`. */
  CANCELLED: 'CANCELLED',
  /** The handler threw or rejected; see `remote` for its name, message and retryable flag. */
  HANDLER_ERROR: 'HANDLER_ERROR',
  /** No worker has a handler registered under the task's name. */
  UNKNOWN_HANDLER: 'UNKNOWN_HANDLER',
  /** The encoded message is larger than the configured byte limit. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** A bounded local queue is full; the task was refused at once. */
  QUEUE_FULL: 'QUEUE_FULL',
  /** The dispatcher or worker is closed or closing. */
  CLOSED: 'CLOSED',
  /** A message failed validation: not JSON, wrong shape, forbidden keys. */
  INVALID_MESSAGE: 'INVALID_MESSAGE',
  /** A message was written by an incompatible protocol version. */
  UNSUPPORTED_VERSION: 'UNSUPPORTED_VERSION',
  /** Options passed to a factory are invalid. */
  INVALID_OPTIONS: 'INVALID_OPTIONS',
  /** Every attempt the task was allowed was lost with its worker. */
  WORKER_LOST: 'WORKER_LOST',
  /** Worker nack: its concurrency and local queue are full. */
  BUSY: 'BUSY',
  /** Worker nack: it is shutting down and takes no new work. */
  DRAINING: 'DRAINING',
  /** Worker nack: the task's deadline had passed when it arrived. */
  EXPIRED: 'EXPIRED',
  /** A Redis command failed. */
  REDIS_ERROR: 'REDIS_ERROR',
  /** Another live process already runs a worker with this id in this namespace. */
  DUPLICATE_WORKER: 'DUPLICATE_WORKER',
  /** Another live process already runs a dispatcher with this id in this namespace. */
  DUPLICATE_DISPATCHER: 'DUPLICATE_DISPATCHER',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** What a worker reports about an error its handler threw. */
export interface RemoteError {
  /** The thrown error's `name` (`'NonError'` for a throw of something that is not an Error). */
  name: string;
  message: string;
  /** Whether the handler marked the failure as worth retrying. */
  retryable: boolean;
  /** A code the handler set on the error, if any (a string up to 64 characters). */
  code?: string;
}

export interface RingcastErrorOptions extends ErrorOptions {
  remote?: RemoteError;
}

/** The base class of every error ringcast raises; `code` is stable, `message` is for humans. */
export class RingcastError extends Error {
  override name = 'RingcastError';
  readonly code: ErrorCode;
  /** Set for `HANDLER_ERROR`: what the remote handler threw. */
  readonly remote?: RemoteError;

  constructor(code: ErrorCode, message: string, options?: RingcastErrorOptions) {
    super(message, options);
    this.code = code;
    if (options?.remote) this.remote = options.remote;
  }
}

/** A message could not be decoded; carries `INVALID_MESSAGE`, `PAYLOAD_TOO_LARGE` or `UNSUPPORTED_VERSION`. */
export class ProtocolError extends RingcastError {
  override name = 'ProtocolError';
}

export function isRingcastError(value: unknown): value is RingcastError {
  return value instanceof RingcastError;
}
