import { RingcastError } from '@ringcast/protocol';

/** Every rejection of `dispatch()`; `code` is one of the protocol's `ErrorCode`s. */
export class DispatchError extends RingcastError {
  override name = 'DispatchError';
}
