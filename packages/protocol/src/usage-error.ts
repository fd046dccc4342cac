/** A mistake in how a CLI was called; it exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
