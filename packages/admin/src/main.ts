/**
 * One run of `ringcast`: parse, run the command with connections opened on
 * demand, close them, and say how it went as an exit code (0 done, 1 failed,
 * 2 bad usage) with at most one line on stderr, credentials redacted.
 */
import {
  closeConnection,
  type Environment,
  errorMessage,
  readTlsFiles,
  type TlsMaterial,
  UsageError,
} from '@ringcast/protocol';
import type { Redis } from 'ioredis';
import { type CommandLine, parseCommandLine } from './cli-args.js';
import type { AnyCommand, CommandContext } from './command.js';
import { COMMANDS } from './commands/index.js';
import { connectAdmin, connectAdminCluster } from './connection.js';

export interface CliOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Runs `ringcast <argv>`; resolves with its exit code. Never rejects. */
export async function main(
  argv: readonly string[],
  env: Environment,
  output: CliOutput,
  commands: ReadonlyMap<string, AnyCommand> = COMMANDS,
): Promise<number> {
  const fail = (message: string): void => output.stderr(`ringcast: ${oneLine(message)}\n`);
  let line: CommandLine;
  try {
    line = parseCommandLine(argv, env, commands);
  } catch (error) {
    fail(`${errorMessage(error)} (see --help)`);
    return error instanceof UsageError ? 2 : 1;
  }
  if (line.kind === 'help') {
    output.stdout(line.text);
    return 0;
  }
  const connections: Redis[] = [];
  const { redis, cluster, tls: files } = line;
  let material: TlsMaterial | undefined;
  // Read when first needed: a command that never connects needs no certificate.
  const tls = (): TlsMaterial | undefined => {
    if (files !== undefined) material ??= readTlsFiles(files);
    return material;
  };
  const ctx: CommandContext = {
    namespace: line.namespace,
    redis,
    cluster,
    tls,
    json: line.json,
    env,
    auth: line.auth,
    async connect() {
      const client = cluster
        ? await connectAdminCluster(cluster)
        : await connectAdmin(redis, { tls: tls() });
      connections.push(client);
      return client;
    },
    out: (text) => output.stdout(`${text}\n`),
  };
  try {
    await line.command.run(ctx, line.args);
    return 0;
  } catch (error) {
    fail(errorMessage(error));
    return error instanceof UsageError ? 2 : 1;
  } finally {
    await Promise.all(connections.map((client) => closeConnection(client)));
  }
}

/** The first line of a message: an error line is one line, whatever it quotes. */
function oneLine(message: string): string {
  return message.split('\n')[0] ?? '';
}
