/**
 * What the ringcast command-line tools (`ringcast-worker`, `ringcast`) share:
 * how a usage mistake is told apart from a failure, and where `--redis`,
 * `--namespace` and the TLS files come from.
 */
import { DEFAULT_NAMESPACE } from './channels.js';
import { TLS_CLI_OPTIONS, type TlsFiles, tlsFiles } from './cli-tls.js';
import type { ClusterNode } from './cluster-target.js';
import { UsageError } from './usage-error.js';

export { UsageError };

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

/** Where a CLI connects: see {@link connectionOptions}. */
export interface CliConnection {
  redis: string;
  namespace: string;
  /** The files of `--tls-ca`, `--tls-cert`, `--tls-key`, when any was given (cli-tls.ts). */
  tls?: TlsFiles;
  /** `--cluster`'s startup nodes: the CLI connects to a Redis Cluster instead of `redis`. */
  cluster?: ClusterNode[];
}

/** The `--cluster` flag, for a CLI's `parseArgs` options. */
export const CLUSTER_CLI_OPTIONS = { cluster: { type: 'string' } } as const;

/** The `--cluster` line of a `--help`, its description starting at column `width`. */
export function clusterHelp(width: number): string {
  const flag = '  --cluster <host:port,...>';
  return `${flag.padEnd(width - 1)} Redis Cluster startup nodes, instead of --redis
${' '.repeat(width - 1)} (channels sharded, names hash-tagged; no TLS flags)
`;
}

/**
 * `--cluster host:port,host:port`: the startup nodes, or a {@link UsageError}
 * for an empty list or a node that is not `host:port` (port 1-65535).
 */
export function parseClusterNodes(spec: string): ClusterNode[] {
  const nodes = spec.split(',').map((part) => part.trim());
  if (nodes.length === 0 || nodes.some((node) => node === '')) {
    throw new UsageError(`--cluster must be host:port[,host:port...], got ${JSON.stringify(spec)}`);
  }
  return nodes.map((node) => {
    const at = node.lastIndexOf(':');
    const host = node.slice(0, at);
    const port = node.slice(at + 1);
    if (at <= 0 || !/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65_535) {
      throw new UsageError(
        `--cluster must be host:port[,host:port...] with ports 1-65535, got ${JSON.stringify(node)}`,
      );
    }
    return { host, port: Number(port) };
  });
}

/**
 * `--redis` and `--namespace` as every ringcast CLI reads them: the flag, else
 * `REDIS_URL` / `RINGCAST_NAMESPACE`, else {@link DEFAULT_REDIS_URL} /
 * `DEFAULT_NAMESPACE`. An empty variable counts as unset. With them the TLS
 * flags, if any: a {@link UsageError} when they do not go with the URL.
 */
export function connectionOptions(values: ParsedValues, env: Environment): CliConnection {
  const namespaceOf = () =>
    stringOption(values, 'namespace') ?? (env['RINGCAST_NAMESPACE'] || DEFAULT_NAMESPACE);
  const cluster = stringOption(values, 'cluster');
  if (cluster !== undefined) {
    if (stringOption(values, 'redis') !== undefined) {
      throw new UsageError('--cluster and --redis are mutually exclusive: give one');
    }
    if (Object.keys(TLS_CLI_OPTIONS).some((flag) => values[flag] !== undefined)) {
      throw new UsageError('--cluster does not take the --tls-* flags');
    }
    // `redis` is unused with a cluster; kept for the fields that describe the target.
    return { redis: '', namespace: namespaceOf(), cluster: parseClusterNodes(cluster) };
  }
  const redis = stringOption(values, 'redis') ?? (env['REDIS_URL'] || DEFAULT_REDIS_URL);
  const namespace =
    stringOption(values, 'namespace') ?? (env['RINGCAST_NAMESPACE'] || DEFAULT_NAMESPACE);
  const tls = tlsFiles(values, redis);
  return tls === undefined ? { redis, namespace } : { redis, namespace, tls };
}
