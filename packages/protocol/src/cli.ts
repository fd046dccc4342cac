/**
 * What the ringcast command-line tools (`ringcast-worker`, `ringcast`) share:
 * how a usage mistake is told apart from a failure, and where `--redis` and
 * `--namespace` come from when they are not given.
 */
import { DEFAULT_NAMESPACE } from './channels.js';

/** A mistake in how a CLI was called; it exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The Redis a CLI uses when neither `--redis` nor `REDIS_URL` names one. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Values from node:util `parseArgs`: a list for an option that takes `multiple`. */
export type ParsedValues = Readonly<Record<string, string | boolean | string[] | undefined>>;
/** The environment, as `process.env`. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** A string option's value, or undefined when absent (or a boolean flag). */
export function stringOption(values: ParsedValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * `--redis` and `--namespace` as every ringcast CLI reads them: the flag, else
 * `REDIS_URL` / `RINGCAST_NAMESPACE`, else {@link DEFAULT_REDIS_URL} /
 * `DEFAULT_NAMESPACE`. An empty variable counts as unset.
 */
export function connectionOptions(
  values: ParsedValues,
  env: Environment,
): { redis: string; namespace: string } {
  return {
    redis: stringOption(values, 'redis') ?? (env['REDIS_URL'] || DEFAULT_REDIS_URL),
    namespace:
      stringOption(values, 'namespace') ?? (env['RINGCAST_NAMESPACE'] || DEFAULT_NAMESPACE),
  };
}
