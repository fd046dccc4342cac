import { DispatchError } from '@ringcast/dispatcher';
import { expect } from 'vitest';

/** The `DispatchError` a dispatch rejected with; fails the test if it resolved or threw anything else. */
export async function rejection(promise: Promise<unknown>): Promise<DispatchError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DispatchError);
  return error as DispatchError;
}
