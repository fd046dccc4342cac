/**
 * What the ringcast command-line tools (`ringcast-worker`, `ringcast`) share:
 * how a usage mistake is told apart from a failure, and where `--redis`,
 * `--namespace` and the TLS files come from.
 */
import { DEFAULT_NAMESPACE } from './channels.js';
import { type TlsFiles, tlsFiles } from './cli-tls.js';
import { UsageError } from './usage-error.js';

export { UsageError };

/** The Redis a CLI uses when neither `--redis` nor `REDIS_URL` names one. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Values from node:util `parseArgs`. */
export type ParsedValues = Readonly<Record<string, string | boolean | undefined>>;
/** The environment, as `process.env`. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** A string option's value, or undefined when absent (or a boolean flag). */
export function stringOption(values: ParsedValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** Where a CLI connects: see {@link connectionOptions}. */
export interface CliConnection {
  redis: string;
  namespace: string;
  /** The files of `--tls-ca`, `--tls-cert`, `--tls-key`, when any was given (cli-tls.ts). */
  tls?: TlsFiles;
}

/**
 * `--redis` and `--namespace` as every ringcast CLI reads them: the flag, else
 * `REDIS_URL` / `RINGCAST_NAMESPACE`, else {@link DEFAULT_REDIS_URL} /
 * `DEFAULT_NAMESPACE`. An empty variable counts as unset. With them the TLS
 * flags, if any: a {@link UsageError} when they do not go with the URL.
 */
export function connectionOptions(values: ParsedValues, env: Environment): CliConnection {
  const redis = stringOption(values, 'redis') ?? (env['REDIS_URL'] || DEFAULT_REDIS_URL);
  const namespace =
    stringOption(values, 'namespace') ?? (env['RINGCAST_NAMESPACE'] || DEFAULT_NAMESPACE);
  const tls = tlsFiles(values, redis);
  return tls === undefined ? { redis, namespace } : { redis, namespace, tls };
}
