import { stringOption } from '@ringcast/protocol';
import { parseMs, positionalsOf } from '../cli-args.js';
import type { Command } from '../command.js';
import { CommandFailure } from '../errors.js';
import { formatMs } from '../render/units.js';
import { signedControl } from '../signed-control.js';
import { DEFAULT_DRAIN_TIMEOUT_MS, drainWorker } from '../worker-control.js';
import { idArgument } from './id-argument.js';

interface DrainArgs {
  id: string;
  timeoutMs: number;
}

export const drainCommand: Command<DrainArgs> = {
  name: 'drain',
  synopsis: 'drain <worker-id>',
  summary: 'make a live worker leave gracefully, and wait until it has',
  help: `Usage: ringcast drain <worker-id> [--timeout <ms>] [options]

Tells a live worker to leave gracefully, as on SIGTERM: it takes no new tasks,
hands back those it only queued, finishes those it runs, and leaves the
registry; a ringcast-worker process then exits 0. Waits until its registry
entry is gone.

Options:
  --timeout <ms>       how long to wait for it to leave (default ${DEFAULT_DRAIN_TIMEOUT_MS})
`,
  options: { timeout: { type: 'string' } },
  parse(values, positionals) {
    const [id] = positionalsOf(positionals, ['worker-id']);
    return {
      id: idArgument('worker', id!),
      timeoutMs: parseMs('timeout', stringOption(values, 'timeout'), DEFAULT_DRAIN_TIMEOUT_MS),
    };
  },
  async run(ctx, { id, timeoutMs }) {
    const redis = signedControl(await ctx.connect(), ctx.auth);
    const outcome = await drainWorker(redis, ctx.namespace, id, timeoutMs);
    switch (outcome.kind) {
      case 'no-live-worker':
        throw new CommandFailure(`no live worker ${id}`);
      case 'not-listening':
        throw new CommandFailure(`worker ${id} is not listening on its channel; nothing was sent`);
      case 'still-registered':
        throw new CommandFailure(`worker ${id} was still registered after ${timeoutMs} ms`);
      case 'left':
        if (ctx.json) ctx.out(JSON.stringify({ id, left: true, afterMs: outcome.afterMs }));
        else ctx.out(`worker ${id} drained: it left after ${formatMs(outcome.afterMs)}`);
    }
  },
};
