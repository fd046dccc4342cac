// ringcast's side of the bench: worker processes started with the CLI, a dispatcher in this process.
import { fileURLToPath } from 'node:url';
import { createDispatcher, type Dispatcher, type DispatcherOptions } from '@ringcast/dispatcher';
import { BenchError, type Child, spawnChild, waitFor } from './harness.js';

const WORKER_CLI = fileURLToPath(new URL('../../packages/worker/dist/cli.js', import.meta.url));
export const HANDLERS = fileURLToPath(new URL('./handlers.js', import.meta.url));

export interface WorkerSpec {
  id: string;
  concurrency: number;
  weight?: number;
  maxQueue?: number | undefined;
}

/** A local Redis Cluster: its `--cluster` argument and startup nodes. */
export interface ClusterTarget {
  spec: string;
  nodes: ReadonlyArray<{ host: string; port: number }>;
}

/** A Redis URL, or a cluster. */
export type BenchTarget = string | ClusterTarget;

/** Starts `ringcast-worker` processes the way users do: `node packages/worker/dist/cli.js …`. */
export function startWorkers(
  url: BenchTarget,
  namespace: string,
  specs: WorkerSpec[],
  nodeArgs: string[] = [],
  cliArgs: string[] = [],
): Child[] {
  return specs.map((spec) => {
    const args = [
      ...nodeArgs,
      WORKER_CLI,
      '--handlers',
      HANDLERS,
      ...(typeof url === 'string' ? ['--redis', url] : ['--cluster', url.spec]),
      '--namespace',
      namespace,
      '--id',
      spec.id,
      '--concurrency',
      String(spec.concurrency),
    ];
    if (spec.weight !== undefined) args.push('--weight', String(spec.weight));
    if (spec.maxQueue !== undefined) args.push('--max-queue', String(spec.maxQueue));
    args.push(...cliArgs);
    return spawnChild(`worker-${spec.id}`, process.execPath, args);
  });
}

const logger = {
  info() {},
  warn: (message: string) => process.stderr.write(`${message}\n`),
  error: (message: string) => process.stderr.write(`${message}\n`),
};

/** A started dispatcher that already sees every worker in `ids`, healthy. */
export async function readyDispatcher(
  url: BenchTarget,
  namespace: string,
  ids: string[],
  children: Child[],
  options: Pick<DispatcherOptions, 'strategy' | 'hashLoadEpsilon' | 'metrics' | 'auth'> = {},
): Promise<Dispatcher> {
  const dispatcher = createDispatcher({
    redis: typeof url === 'string' ? url : { cluster: [...url.nodes] },
    namespace,
    logger,
    timeoutMs: 60_000,
    ...options,
  });
  await dispatcher.start();
  try {
    await waitFor(
      () => {
        const seen = dispatcher.workers();
        return ids.every((id) => seen.some((w) => w.id === id && w.healthy));
      },
      30_000,
      `the dispatcher to see workers ${ids.join(', ')}`,
      children.map((c) => c.died),
    );
  } catch (error) {
    await dispatcher.close();
    throw error;
  }
  return dispatcher;
}

/** Closes a dispatcher whose tasks have all settled; fails if any is left over. */
export async function closeDispatcher(dispatcher: Dispatcher): Promise<void> {
  const { inflight, queued } = dispatcher.stats();
  await dispatcher.close();
  if (inflight + queued > 0) {
    throw new BenchError(`dispatcher closed with ${inflight} in flight and ${queued} queued`);
  }
}
