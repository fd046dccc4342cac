import { RingcastError } from '@ringcast/protocol';

/** Errors the worker raises itself (bad options, use after close); `code` is a protocol `ErrorCode`. */
export class WorkerError extends RingcastError {
  override name = 'WorkerError';
}
