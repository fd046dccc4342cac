/**
 * A command ran and could not do what it was asked (no such worker, not done
 * in time); it exits with code 1. A usage mistake is protocol's `UsageError`
 * (exit 2); Redis failing is a `RingcastError` with `REDIS_ERROR` (exit 1).
 */
export class CommandFailure extends Error {
  override name = 'CommandFailure';
}
