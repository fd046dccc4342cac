import { positionalsOf } from '../cli-args.js';
import { readClusterView } from '../cluster-view.js';
import type { Command } from '../command.js';
import { renderStats } from '../render/stats-tables.js';
import { statsReport } from '../stats-report.js';

export const statsCommand: Command<void> = {
  name: 'stats',
  synopsis: 'stats',
  summary: 'per handler and per worker: outcomes, throughput, execution time, end-to-end latency',
  help: `Usage: ringcast stats [options]

Execution statistics the live workers publish, per handler over every worker
and per worker: succeeded, failed by code, redelivered, runs ended in the last
second and minute, and handler execution time (p50, p90, p99, max, avg).
Beside it, per handler, the end-to-end latency (dispatch() to settlement) the
dispatchers publish while calls settle: calls settled, failed by code, p50,
p90, p99, max, avg. Counts add up over processes; percentiles come from their
merged histograms. --json prints one object:
{ namespace, readAt, handlers, latency, dispatchers, workers, unreported }.
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
