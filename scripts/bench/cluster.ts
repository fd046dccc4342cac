// The cluster scenario: the throughput scenario's workload (2 CLI workers, echo, W in
// flight) on a local Redis Cluster of 3 masters and 3 replicas, started here. Tasks and
// replies go on sharded channels in their ids' slots; CPU per task is summed over the
// bench process, the workers and all six redis-server nodes.
import { startRedisCluster } from '@ringcast/redis-server';
import { type Child, cpuMeter, onCleanup } from './harness.js';
import type { Summary } from './loop.js';
import { closedLoop, summarize } from './loop.js';
import { closeDispatcher, readyDispatcher, startWorkers } from './ringcast.js';

export interface ClusterRunOptions {
  namespace: string;
  w: number;
  n: number;
  warmup: number;
  repeat: number;
  concurrency: number;
  maxQueue: number | undefined;
  nodeArgs: string[];
  payload: (i: number) => unknown;
  check: (i: number, value: unknown) => boolean;
  progress: (line: string) => void;
}

export interface ClusterRuns {
  runs: Summary[];
  masters: number;
  replicas: number;
  /** Attempts sent again during the measured runs (0 when nothing went wrong). */
  redelivered: number;
}

export async function runCluster(options: ClusterRunOptions): Promise<ClusterRuns> {
  const cluster = await startRedisCluster();
  onCleanup(() => cluster.stop());
  const target = { spec: cluster.spec, nodes: cluster.startupNodes };
  options.progress(`cluster: 3 masters + 3 replicas on ${cluster.spec}`);
  const ids = ['echo-1', 'echo-2'];
  const children: Child[] = startWorkers(
    target,
    options.namespace,
    ids.map((id) => ({ id, concurrency: options.concurrency, maxQueue: options.maxQueue })),
    options.nodeArgs,
  );
  const pids = (list: Child[]) => list.map((c) => c.process.pid ?? -1);
  const runs: Summary[] = [];
  let redelivered = 0;
  try {
    for (let rep = 0; rep < options.repeat; rep++) {
      const dispatcher = await readyDispatcher(target, options.namespace, ids, children);
      const label = `ringcast cluster W=${options.w}`;
      const abort = children.map((c) => c.died);
      const send = (i: number) => dispatcher.dispatch('echo', options.payload(i));
      try {
        await closedLoop({ n: options.warmup, w: options.w, send, label, abort });
        const before = dispatcher.stats().redelivered;
        const cpu = cpuMeter({
          bench: [process.pid],
          workers: pids(children),
          redis: cluster.nodes.map((node) => node.server.pid),
        });
        const result = await closedLoop({
          n: options.n,
          w: options.w,
          send,
          check: options.check,
          label,
          abort,
        });
        if (result.firstError) options.progress(`${label}: ${result.firstError}`);
        const summary = { ...summarize(result), cpuUsPerTask: cpu(options.n) };
        runs.push(summary);
        redelivered += dispatcher.stats().redelivered - before;
        options.progress(
          `${label}: ${Math.round(summary.tasksPerSec)} tasks/s, p50 ${summary.p50} ms, p99 ${summary.p99} ms`,
        );
      } finally {
        await closeDispatcher(dispatcher);
      }
    }
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await cluster.stop();
  }
  return { runs, masters: 3, replicas: 3, redelivered };
}
