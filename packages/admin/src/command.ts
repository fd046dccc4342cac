/**
 * A `ringcast` subcommand: its usage, its own options (beside the common
 * `--redis`, `--namespace`, `--json`, `--help`), how it reads its arguments,
 * and what it does. The commands are listed in commands/index.ts; main.ts
 * parses, connects on demand, runs one and turns its outcome into an exit code.
 */
import type { ParseArgsConfig } from 'node:util';
import type {
  AuthOptions,
  ClusterNode,
  Environment,
  ParsedValues,
  TlsMaterial,
} from '@ringcast/protocol';
import type { Redis } from 'ioredis';

export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** What a running command gets from main. */
export interface CommandContext {
  readonly namespace: string;
  /**
   * The Redis URL, for a command that keeps its own connections (the
   * dashboard). It may hold credentials: show it only through `redactUrl`.
   */
  readonly redis: string;
  /** `--cluster`'s startup nodes, when the deployment is on a Redis Cluster (`redis` is then unused). */
  readonly cluster: ClusterNode[] | undefined;
  /**
   * The certificates the TLS flags name, read on the first call, for a
   * command that keeps its own connections; undefined without TLS flags.
   * Throws protocol's `UsageError` for a file it cannot read.
   */
  tls(): TlsMaterial | undefined;
  /** `--json`: print JSON, not text. */
  readonly json: boolean;
  /** The environment the CLI runs in (`process.env`). */
  readonly env: Environment;
  /** The deployment's frame keys (`--auth-keys-file`, `RINGCAST_AUTH_KEYS`): what it publishes is signed with them. */
  readonly auth: AuthOptions | undefined;
  /**
   * A new connection to the deployment's Redis, closed by main when the
   * command ends. Throws a `REDIS_ERROR` when Redis cannot be reached.
   */
  connect(): Promise<Redis>;
  /** Prints `text` and a newline on stdout. */
  out(text: string): void;
}

export interface Command<A = unknown> {
  readonly name: string;
  /** Its arguments as `ringcast --help` lists it: `drain <worker-id>`. */
  readonly synopsis: string;
  /** One line for `ringcast --help`. */
  readonly summary: string;
  /** Its `--help`, less the common options, which main appends. */
  readonly help: string;
  /** Its own options. */
  readonly options: OptionsConfig;
  /** Reads its options and positionals; throws protocol's `UsageError`. */
  parse(values: ParsedValues, positionals: readonly string[]): A;
  /** Does it; throws `CommandFailure` for an exit code of 1. */
  run(ctx: CommandContext, args: A): Promise<void>;
}

/** A command with its argument type erased, for the dispatch table (methods are bivariant, so any command fits). */
export type AnyCommand = Command<unknown>;
