// The command lines of `npm run example` (main.ts) and of the load script (load-cli.ts):
// strict, every flag in --help, a mistake reported as a UsageError (exit code 2).
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { DEFAULT_CONCURRENCY, DEFAULT_RATE } from './load.js';

export const DEFAULT_DURATION_S = 10;
export const DEFAULT_PORT = 3000;
export const DEFAULT_WEIGHTS: readonly number[] = [1, 2, 3];
const MAX_DURATION_S = 3600;
const MAX_RATE = 10_000;
const MAX_CONCURRENCY = 1000;
const MAX_WORKERS = 8;
const MAX_WEIGHT = 100;

/** A mistake in how a script was called: one line on stderr, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const LOAD_FLAGS = `  --duration <s>      seconds of load, 0 to ${MAX_DURATION_S} (default ${DEFAULT_DURATION_S})
  --rate <n>          requests started per second, 1 to ${MAX_RATE} (default ${DEFAULT_RATE})
  --concurrency <n>   most requests waiting at once, 1 to ${MAX_CONCURRENCY} (default ${DEFAULT_CONCURRENCY})`;

export const EXAMPLE_USAGE = `Usage: npm run example -- [options]

Starts the example application: a private redis-server (or the Redis at REDIS_URL),
ringcast-worker processes with different weights, and an HTTP API that embeds a
dispatcher; then sends it a mix of requests and prints how they went.

Options:
${LOAD_FLAGS}
  --weights <list>    one worker per comma-separated weight, each 1 to ${MAX_WEIGHT}, at most
                      ${MAX_WORKERS} workers (default ${DEFAULT_WEIGHTS.join(',')})
  --port <n>          the API's port, 0 for any free one (default ${DEFAULT_PORT})
  --keep              keep serving after the load, until Ctrl-C
  -h, --help          show this help

Exit code: 0 when every request succeeded or failed as intended and every report was
built; 1 otherwise, or when the example could not start; 2 on a bad flag; 130/143 when
interrupted by SIGINT/SIGTERM during the load.
`;

export const LOAD_USAGE = `Usage: npm run load -w @ringcast/example-http-api -- [options]

Sends the example API a mix of requests and prints how they went.

Options:
  --url <url>         the API (default http://127.0.0.1:${DEFAULT_PORT})
${LOAD_FLAGS}
  -h, --help          show this help

Exit code: 0 when every request succeeded or failed as intended and every report was
built; 1 otherwise; 2 on a bad flag.
`;

export interface LoadArgs {
  durationS: number;
  rate: number;
  concurrency: number;
}

export interface ExampleArgs extends LoadArgs {
  weights: number[];
  port: number;
  keep: boolean;
}

export type Command<T> = { help: true } | { help: false; args: T };

/**
 * The command line handled as both scripts handle it: `--help` prints `usage` (exit 0), a
 * mistake prints one line (exit 2), anything else goes to `run`, whose code is the exit code.
 */
export function withArgs<T>(
  program: string,
  usage: string,
  parse: (argv: readonly string[]) => Command<T>,
  run: (args: T) => Promise<number>,
): Promise<number> {
  let command: Command<T>;
  try {
    command = parse(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${program}: ${error.message} (see --help)\n`);
    return Promise.resolve(2);
  }
  if (command.help) {
    process.stdout.write(usage);
    return Promise.resolve(0);
  }
  return run(command.args);
}

function integer(
  flag: string,
  raw: string | undefined,
  min: number,
  max: number,
  fallback: number,
) {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(
      `--${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return Number(raw);
}

const loadOptions = {
  duration: { type: 'string' },
  rate: { type: 'string' },
  concurrency: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parse<const O extends NonNullable<ParseArgsConfig['options']>>(
  argv: readonly string[],
  options: O,
) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function loadArgs(values: Record<string, string | boolean | undefined>): LoadArgs {
  const str = (name: string) => values[name] as string | undefined;
  return {
    durationS: integer('duration', str('duration'), 0, MAX_DURATION_S, DEFAULT_DURATION_S),
    rate: integer('rate', str('rate'), 1, MAX_RATE, DEFAULT_RATE),
    concurrency: integer(
      'concurrency',
      str('concurrency'),
      1,
      MAX_CONCURRENCY,
      DEFAULT_CONCURRENCY,
    ),
  };
}

export function parseExampleArgs(argv: readonly string[]): Command<ExampleArgs> {
  const values = parse(argv, {
    ...loadOptions,
    weights: { type: 'string' },
    port: { type: 'string' },
    keep: { type: 'boolean' },
  });
  if (values.help) return { help: true };
  const weights =
    values.weights === undefined
      ? [...DEFAULT_WEIGHTS]
      : values.weights.split(',').map((w) => integer('weights', w.trim(), 1, MAX_WEIGHT, 0));
  if (weights.length > MAX_WORKERS) {
    throw new UsageError(`--weights lists ${weights.length} workers; at most ${MAX_WORKERS}`);
  }
  return {
    help: false,
    args: {
      ...loadArgs(values),
      weights,
      port: integer('port', values.port, 0, 65_535, DEFAULT_PORT),
      keep: values.keep === true,
    },
  };
}

export function parseLoadArgs(argv: readonly string[]): Command<LoadArgs & { url: string }> {
  const values = parse(argv, { ...loadOptions, url: { type: 'string' } });
  if (values.help) return { help: true };
  const url = values.url ?? `http://127.0.0.1:${DEFAULT_PORT}`;
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw new UsageError(`--url must be an http:// or https:// URL, got ${JSON.stringify(url)}`);
  }
  return { help: false, args: { ...loadArgs(values), url: url.replace(/\/+$/, '') } };
}
