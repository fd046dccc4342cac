import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  AUTH_KEYS_ENV,
  type AuthOptions,
  authKeysOption,
  CLUSTER_CLI_OPTIONS,
  checkRedisUrl,
  clusterHelp,
  connectionOptions,
  DEFAULT_NAMESPACE,
  describeArgsError,
  errorMessage,
  isLogFormat,
  LOG_FORMATS,
  type LogFormat,
  readTlsFiles,
  redisTlsOptions,
  stringOption,
  TLS_CLI_OPTIONS,
  type TlsFiles,
  tlsHelp,
  UsageError,
} from '@ringcast/protocol';
import type { RedisOptions } from 'ioredis';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_HEARTBEAT_TTL_MS,
  DEFAULT_REDIS_URL,
  type Handler,
} from './options.js';

export { UsageError };

export const USAGE = `Usage: ringcast-worker --handlers <module> [options]

Runs a ringcast worker: takes tasks from Redis, runs them with the handlers the
module exports, replies to the dispatcher. SIGTERM or SIGINT drains and exits;
a second signal exits at once. An operator's \`ringcast drain <id>\` drains it the
same way, and it exits 0 (1 if the close failed). \`ringcast reweight <id> <n>\`
changes its weight while it runs; the operator's weight policy
(<namespace>:weights) wins over --weight, also after a restart.

Options:
  --handlers <path>            ES module exporting handlers: named function exports,
                               or a default-exported object of functions (required)
  --redis <url>                Redis URL (env REDIS_URL; default ${DEFAULT_REDIS_URL})
${clusterHelp(31)}  --namespace <ns>             prefix of every channel and key; must match the
                               dispatchers' (env RINGCAST_NAMESPACE; default ${DEFAULT_NAMESPACE})
${tlsHelp(31)}  --id <id>                    worker id, [A-Za-z0-9_.-]{1,128} (default host-pid-random)
  --concurrency <n>            handlers running at once (default ${DEFAULT_CONCURRENCY})
  --weight <n>                 share of tasks relative to other workers (default: concurrency;
                               an operator's weight policy for this id wins)
  --max-queue <n>              tasks waiting beyond concurrency before BUSY (default: concurrency)
  --heartbeat-interval <ms>    heartbeat refresh interval (default ${DEFAULT_HEARTBEAT_INTERVAL_MS})
  --heartbeat-ttl <ms>         heartbeat key lifetime; must exceed the interval (default ${DEFAULT_HEARTBEAT_TTL_MS})
  --drain-timeout <ms>         how long shutdown waits for running handlers (default ${DEFAULT_DRAIN_TIMEOUT_MS})
  --metrics-port <n>           serve Prometheus metrics at http://<host>:<n>/metrics
  --metrics-host <host>        address the metrics server binds (default 127.0.0.1)
  --log-format <text|json>     text: one line per message (default); json: one JSON
                               object per line on stdout (level, time, msg, fields)
  --auth-keys-file <path>      sign and check every frame: a JSON file holding
                               { "keys": { "<id>": "<secret>", ... }, "current": "<id>" }
                               (env ${AUTH_KEYS_ENV} may hold the same JSON instead);
                               SIGHUP re-reads the file, for a key rotation
  -h, --help                   show this help
`;

export interface CliConfig {
  handlers: string;
  redis: string;
  namespace: string;
  /** The TLS flags' files (see {@link redisTarget}). */
  tls?: TlsFiles;
  /** `--cluster`'s startup nodes: then `redis` is unused. */
  cluster?: Array<{ host: string; port: number }>;
  id?: string;
  concurrency?: number;
  weight?: number;
  maxQueue?: number;
  heartbeatIntervalMs?: number;
  heartbeatTtlMs?: number;
  drainTimeoutMs?: number;
  /** Where `/metrics` is served; metrics are on only with a port. */
  metricsPort?: number;
  metricsHost?: string;
  /** How log lines are written. */
  logFormat: LogFormat;
  /** Frame authentication keys, from `--auth-keys-file` or the environment. */
  auth?: AuthOptions;
  /** The keys file, read again on SIGHUP. */
  authKeysFile?: string;
}

export type CliCommand = { help: true } | { help: false; config: CliConfig };

const NUMERIC = {
  concurrency: 'concurrency',
  weight: 'weight',
  'max-queue': 'maxQueue',
  'heartbeat-interval': 'heartbeatIntervalMs',
  'heartbeat-ttl': 'heartbeatTtlMs',
  'drain-timeout': 'drainTimeoutMs',
  'metrics-port': 'metricsPort',
} as const;

/** Parses the command line strictly; throws {@link UsageError} on anything it does not know. */
export function parseCliArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): CliCommand {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        handlers: { type: 'string' },
        redis: { type: 'string' },
        namespace: { type: 'string' },
        id: { type: 'string' },
        concurrency: { type: 'string' },
        weight: { type: 'string' },
        'max-queue': { type: 'string' },
        'heartbeat-interval': { type: 'string' },
        'heartbeat-ttl': { type: 'string' },
        'drain-timeout': { type: 'string' },
        'metrics-port': { type: 'string' },
        'metrics-host': { type: 'string' },
        'log-format': { type: 'string' },
        'auth-keys-file': { type: 'string' },
        ...TLS_CLI_OPTIONS,
        ...CLUSTER_CLI_OPTIONS,
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError(describeArgsError(error));
  }
  if (values['help']) return { help: true };
  const handlers = values['handlers'];
  if (typeof handlers !== 'string' || handlers.length === 0) {
    throw new UsageError('--handlers <module> is required');
  }
  const logFormat = stringOption(values, 'log-format') ?? 'text';
  if (!isLogFormat(logFormat)) {
    throw new UsageError(
      `--log-format must be ${LOG_FORMATS.join(' or ')}, got ${JSON.stringify(logFormat)}`,
    );
  }
  const config: CliConfig = { handlers, ...connectionOptions(values, env), logFormat };
  const id = stringOption(values, 'id');
  if (id !== undefined) config.id = id;
  const keys = authKeysOption(values, env);
  if (keys !== undefined) config.auth = keys.auth;
  if (keys?.file !== undefined) config.authKeysFile = keys.file;
  for (const [flag, key] of Object.entries(NUMERIC)) {
    const raw = stringOption(values, flag);
    if (raw === undefined) continue;
    if (!/^\d{1,15}$/.test(raw)) {
      throw new UsageError(`--${flag} must be a whole number, got ${JSON.stringify(raw)}`);
    }
    config[key] = Number(raw);
  }
  if (config.metricsPort !== undefined && config.metricsPort > 65_535) {
    throw new UsageError(`--metrics-port must be 0 to 65535, got ${config.metricsPort}`);
  }
  const metricsHost = stringOption(values, 'metrics-host');
  if (metricsHost !== undefined) {
    if (config.metricsPort === undefined)
      throw new UsageError('--metrics-host needs --metrics-port');
    config.metricsHost = metricsHost;
  }
  return { help: false, config };
}

/**
 * What the worker's `redis` option gets: the URL, or with TLS files the URL's
 * options with the files' contents as `tls` (the URL checked first, as the
 * worker would check it). Throws {@link UsageError} for a bad URL or a file
 * that cannot be read.
 */
export function redisTarget(redis: string, tls: TlsFiles | undefined): string | RedisOptions {
  if (tls === undefined) return redis;
  checkRedisUrl((message) => {
    throw new UsageError(message);
  }, redis);
  return redisTlsOptions(redis, readTlsFiles(tls)) as RedisOptions;
}

/**
 * Imports the handlers module: its named function exports, plus the functions of
 * a default-exported object. Throws {@link UsageError} when the file is missing,
 * cannot be loaded, or exports no function.
 */
export async function loadHandlers(
  path: string,
  cwd = process.cwd(),
): Promise<Record<string, Handler>> {
  const file = resolve(cwd, path);
  if (!existsSync(file)) throw new UsageError(`handlers module not found: ${file}`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    // Whatever the module threw, even a value that cannot be printed, becomes one redacted line.
    const why = errorMessage(error);
    throw new UsageError(`could not load handlers module ${file}: ${why.split('\n')[0]}`);
  }
  const handlers: Record<string, Handler> = {};
  const fallback = mod['default'];
  if (typeof fallback === 'object' && fallback !== null) {
    for (const [name, fn] of Object.entries(fallback)) {
      if (typeof fn === 'function') handlers[name] = fn as Handler;
    }
  }
  for (const [name, fn] of Object.entries(mod)) {
    if (name !== 'default' && typeof fn === 'function') handlers[name] = fn as Handler;
  }
  if (Object.keys(handlers).length === 0) {
    throw new UsageError(
      `handlers module ${file} exports no functions (use named exports or a default-exported object)`,
    );
  }
  return handlers;
}
