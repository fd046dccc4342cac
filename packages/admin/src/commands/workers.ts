import { positionalsOf } from '../cli-args.js';
import { readClusterView } from '../cluster-view.js';
import type { Command } from '../command.js';
import { renderWorkers } from '../render/workers-table.js';
import { workerRows } from '../worker-rows.js';

export const workersCommand: Command<void> = {
  name: 'workers',
  synopsis: 'workers',
  summary: 'live workers: weight, concurrency, in flight, stuck slots, heartbeat, host',
  help: `Usage: ringcast workers [options]

Lists the live workers: id, weight (* when the operator set it with
ringcast reweight), concurrency, handlers running now, stuck slots (handlers
past their task's deadline), handlers, time since the last heartbeat, host,
pid and version. --json prints an array with one object per worker.
`,
  options: {},
  parse(_values, positionals) {
    positionalsOf(positionals, []);
  },
  async run(ctx) {
    const view = await readClusterView(await ctx.connect(), ctx.namespace);
    ctx.out(ctx.json ? JSON.stringify(workerRows(view), null, 2) : renderWorkers(view));
  },
};
