/**
 * Reads `ringcast <command> [arguments] [options]`: the command comes first,
 * then its positionals and options in any order (node:util `parseArgs`,
 * strict). Every mistake is protocol's `UsageError` (exit 2).
 */
import { parseArgs } from 'node:util';
import {
  AUTH_KEYS_ENV,
  type AuthOptions,
  authKeysOption,
  CLUSTER_CLI_OPTIONS,
  type ClusterNode,
  checkRedisUrl,
  clusterHelp,
  connectionOptions,
  DEFAULT_NAMESPACE,
  DEFAULT_REDIS_URL,
  describeArgsError,
  type Environment,
  isValidNamespace,
  MAX_TIMER_MS,
  type ParsedValues,
  TLS_CLI_OPTIONS,
  type TlsFiles,
  tlsHelp,
  UsageError,
} from '@ringcast/protocol';
import type { AnyCommand, OptionsConfig } from './command.js';

const COMMON_OPTIONS = {
  redis: { type: 'string' },
  ...CLUSTER_CLI_OPTIONS,
  namespace: { type: 'string' },
  ...TLS_CLI_OPTIONS,
  json: { type: 'boolean' },
  'auth-keys-file': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionsConfig;

export const COMMON_HELP = `Options of every command:
  --redis <url>        Redis URL (env REDIS_URL; default ${DEFAULT_REDIS_URL})
${clusterHelp(23)}  --namespace <ns>     the deployment's namespace, as its workers and dispatchers
                       were given it (env RINGCAST_NAMESPACE; default ${DEFAULT_NAMESPACE})
${tlsHelp(23)}  --json               print JSON instead of text
  --auth-keys-file <path>
                       the deployment's frame keys, JSON { "keys": { … }, "current": … }
                       (env ${AUTH_KEYS_ENV}): reweight and drain requests are signed
  -h, --help           show this help
`;

export type CommandLine =
  | { kind: 'help'; text: string }
  | {
      kind: 'run';
      command: AnyCommand;
      args: unknown;
      redis: string;
      /** `--cluster`'s startup nodes: then `redis` is unused. */
      cluster?: ClusterNode[];
      namespace: string;
      /** The TLS flags' files, read when the command connects. */
      tls?: TlsFiles;
      json: boolean;
      /** Frame authentication keys; undefined when the deployment has none. */
      auth: AuthOptions | undefined;
    };

/** `ringcast --help`. */
export function mainHelp(commands: ReadonlyMap<string, AnyCommand>): string {
  const width = Math.max(...[...commands.values()].map((c) => c.synopsis.length));
  const list = [...commands.values()]
    .map((c) => `  ${c.synopsis.padEnd(width)}  ${c.summary}`)
    .join('\n');
  return `Usage: ringcast <command> [arguments] [options]

Reads and steers a running ringcast deployment through its Redis.

Commands:
${list}

${COMMON_HELP}
\`ringcast <command> --help\` shows a command's own options.
Exit status: 0 done; 1 failed (Redis unreachable, no such worker or task, not
done in time); 2 bad usage.
`;
}

export function parseCommandLine(
  argv: readonly string[],
  env: Environment,
  commands: ReadonlyMap<string, AnyCommand>,
): CommandLine {
  const [name, ...rest] = argv;
  if (name === undefined) throw new UsageError('a command is required');
  if (name === '--help' || name === '-h') return { kind: 'help', text: mainHelp(commands) };
  if (name.startsWith('-')) {
    throw new UsageError(`the command comes first: ringcast <command> ${name}`);
  }
  const command = commands.get(name);
  if (command === undefined) {
    throw new UsageError(
      `unknown command ${JSON.stringify(name)}; commands: ${[...commands.keys()].join(', ')}`,
    );
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: true,
      options: { ...COMMON_OPTIONS, ...command.options },
    });
  } catch (error) {
    throw new UsageError(describeArgsError(error));
  }
  const values = parsed.values as ParsedValues;
  const { positionals } = parsed;
  if (values['help']) return { kind: 'help', text: `${command.help}\n${COMMON_HELP}` };
  const { redis, namespace, tls, cluster } = connectionOptions(values, env);
  if (cluster === undefined) {
    checkRedisUrl((message) => {
      throw new UsageError(message);
    }, redis);
  }
  const shown = JSON.stringify(namespace.slice(0, 80));
  if (!isValidNamespace(namespace)) {
    throw new UsageError(`--namespace must be 1 to 64 of A-Z a-z 0-9 _ . : -, got ${shown}`);
  }
  const args = command.parse(values, positionals);
  const json = values['json'] === true;
  const auth = authKeysOption(values, env)?.auth;
  return {
    kind: 'run',
    command,
    args,
    redis,
    ...(cluster && { cluster }),
    namespace,
    ...(tls && { tls }),
    json,
    auth,
  };
}

/** Throws unless there are exactly `names.length` positionals; returns them. */
export function positionalsOf(positionals: readonly string[], names: readonly string[]): string[] {
  if (positionals.length < names.length) {
    throw new UsageError(
      `missing ${names
        .slice(positionals.length)
        .map((n) => `<${n}>`)
        .join(' ')}`,
    );
  }
  if (positionals.length > names.length) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[names.length])}`);
  }
  return [...positionals];
}

/** A `--<flag> <ms>` value: whole milliseconds up to the longest timer Node keeps. */
export function parseMs(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d{1,10}$/.test(raw) || Number(raw) > MAX_TIMER_MS) {
    throw new UsageError(
      `--${flag} must be whole milliseconds from 0 to ${MAX_TIMER_MS}, got ${JSON.stringify(raw)}`,
    );
  }
  return Number(raw);
}
