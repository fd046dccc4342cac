import { positionalsOf } from '../cli-args.js';
import { readClusterView } from '../cluster-view.js';
import type { Command } from '../command.js';
import { renderStats } from '../render/stats-tables.js';
import { statsReport } from '../stats-report.js';

export const statsCommand: Command<void> = {
  name: 'stats',
  synopsis: 'stats',
  summary: 'per handler and per worker: outcomes, throughput, execution time',
  help: `Usage: ringcast stats [options]

Execution statistics the live workers publish, per handler over every worker
and per worker: succeeded, failed by code, redelivered, runs ended in the last
second and minute, and handler execution time (p50, p90, p99, max, avg).
Counts and throughput add up over workers; percentiles come from the workers'
merged histograms. End-to-end latency is measured by each dispatcher (its
stats() and metrics) and is not in Redis. --json prints one object:
{ namespace, readAt, handlers, workers, unreported }.
`,
  options: {},
  parse(_values, positionals) {
    positionalsOf(positionals, []);
  },
  async run(ctx) {
    const report = statsReport(await readClusterView(await ctx.connect(), ctx.namespace));
    ctx.out(ctx.json ? JSON.stringify(report, null, 2) : renderStats(report));
  },
};
