// The demo's command line: strict, every flag described in --help.
import { parseArgs } from 'node:util';

export const DEFAULT_TASKS = 20_000;
export const DEFAULT_WEIGHTS: readonly number[] = [1, 2, 5];
const MAX_TASKS = 1_000_000;
const MAX_WORKERS = 8;
const MAX_WEIGHT = 100;

export const USAGE = `Usage: npm run demo -- [options]
       tsx scripts/demo.ts [options]

Shows ringcast at work: starts workers with different weights, dispatches tasks
through one dispatcher, kills a worker halfway and starts a fresh one, and ends
with a table of who did what, how fast, and whether anything was lost.

Redis: REDIS_URL if set; else a private redis-server from the PATH on a free port;
else an in-process stand-in (ioredis-mock) with in-process workers, for trying
ringcast out only.

Options:
  --tasks <n>        tasks to dispatch, 1 to ${MAX_TASKS.toLocaleString('en-US')} (default ${DEFAULT_TASKS.toLocaleString('en-US')})
  --weights <list>   one worker per comma-separated weight, each 1 to ${MAX_WEIGHT}, at most
                     ${MAX_WORKERS} workers (default ${DEFAULT_WEIGHTS.join(',')})
  --no-kill          do not kill and replace a worker halfway through
  --cluster          run on a local Redis Cluster (3 masters, 3 replicas) started for the
                     demo: tasks and replies on sharded channels (needs redis-server and
                     redis-cli; not with --durable)
  --durable          durable tasks instead: a dispatcher process submits them, is killed
                     with SIGKILL halfway, and a second dispatcher process adopts its
                     tasks and finishes everything (needs redis-server or REDIS_URL)
  -h, --help         show this help

Exit code: 0 when every task settled once with its own result (--durable: reached
exactly one stored terminal state, its handler's output); 1 when a task was lost or
settled twice, or the demo failed; 2 on a bad flag; 130/143 on SIGINT/SIGTERM.
`;

export interface DemoArgs {
  tasks: number;
  weights: number[];
  kill: boolean;
  durable: boolean;
  cluster: boolean;
}

export type DemoCommand = { help: true } | { help: false; args: DemoArgs };

/** A mistake in how the demo was called: one line on stderr, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

function positiveInteger(flag: string, raw: string, max: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
    throw new UsageError(`${flag} must be an integer from 1 to ${max}, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

export function parseDemoArgs(argv: readonly string[]): DemoCommand {
  let values: {
    tasks?: string;
    weights?: string;
    'no-kill'?: boolean;
    durable?: boolean;
    cluster?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        tasks: { type: 'string' },
        weights: { type: 'string' },
        'no-kill': { type: 'boolean' },
        durable: { type: 'boolean' },
        cluster: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return { help: true };
  const tasks =
    values.tasks === undefined
      ? DEFAULT_TASKS
      : positiveInteger('--tasks', values.tasks, MAX_TASKS);
  let weights = [...DEFAULT_WEIGHTS];
  if (values.weights !== undefined) {
    const parts = values.weights.split(',').map((part) => part.trim());
    if (parts.length > MAX_WORKERS) {
      throw new UsageError(`--weights takes at most ${MAX_WORKERS} weights, got ${parts.length}`);
    }
    weights = parts.map((part) => positiveInteger('--weights', part, MAX_WEIGHT));
  }
  if (values.cluster && values.durable) {
    throw new UsageError('--cluster does not go with --durable');
  }
  return {
    help: false,
    args: {
      tasks,
      weights,
      kill: !values['no-kill'],
      durable: values.durable === true,
      cluster: values.cluster === true,
    },
  };
}
