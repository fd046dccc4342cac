import { MAX_WEIGHT, stringOption, UsageError } from '@ringcast/protocol';
import { parseMs, positionalsOf } from '../cli-args.js';
import type { Command } from '../command.js';
import { CommandFailure } from '../errors.js';
import { signedControl } from '../signed-control.js';
import { DEFAULT_REWEIGHT_TIMEOUT_MS, resetWeight, reweightWorker } from '../worker-control.js';
import { idArgument } from './id-argument.js';

type ReweightArgs =
  | { reset: false; id: string; weight: number; timeoutMs: number }
  | { reset: true; id: string };

/** A weight as typed: an integer from 1 to MAX_WEIGHT, digits only. */
export function parseWeight(raw: string): number {
  if (!/^\d{1,7}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_WEIGHT) {
    throw new UsageError(
      `<weight> must be an integer from 1 to ${MAX_WEIGHT}, got ${JSON.stringify(raw.slice(0, 80))}`,
    );
  }
  return Number(raw);
}

export const reweightCommand: Command<ReweightArgs> = {
  name: 'reweight',
  synopsis: 'reweight <worker-id> <weight>',
  summary: "set a live worker's weight; --reset returns it to its own",
  help: `Usage: ringcast reweight <worker-id> <weight> [--timeout <ms>] [options]
       ringcast reweight <worker-id> --reset [options]

Sets the operator's weight for a live worker (1 to ${MAX_WEIGHT}) in the
weight policy hash, tells the worker on its channel, and waits until its
registry entry shows the new weight; every dispatcher's ring follows. The
policy outlives the worker process: it applies again when the worker restarts,
until --reset removes it (the worker goes back to the weight it was started
with at its next heartbeat).

Options:
  --timeout <ms>       how long to wait for the worker to take it (default ${DEFAULT_REWEIGHT_TIMEOUT_MS})
  --reset              remove the operator's weight instead
`,
  options: { timeout: { type: 'string' }, reset: { type: 'boolean' } },
  parse(values, positionals) {
    if (values['reset'] === true) {
      if (stringOption(values, 'timeout') !== undefined) {
        throw new UsageError('--timeout does not go with --reset');
      }
      const [id] = positionalsOf(positionals, ['worker-id']);
      return { reset: true, id: idArgument('worker', id!) };
    }
    const [id, weight] = positionalsOf(positionals, ['worker-id', 'weight']);
    return {
      reset: false,
      id: idArgument('worker', id!),
      weight: parseWeight(weight!),
      timeoutMs: parseMs('timeout', stringOption(values, 'timeout'), DEFAULT_REWEIGHT_TIMEOUT_MS),
    };
  },
  async run(ctx, args) {
    const redis = await ctx.connect();
    if (args.reset) {
      const removed = await resetWeight(redis, ctx.namespace, args.id);
      if (ctx.json) ctx.out(JSON.stringify({ id: args.id, reset: true, removed }));
      else if (removed) {
        ctx.out(
          `worker ${args.id}: operator weight removed; it returns to its own weight within a heartbeat`,
        );
      } else ctx.out(`worker ${args.id} had no operator weight`);
      return;
    }
    const outcome = await reweightWorker(
      signedControl(redis, ctx.auth),
      ctx.namespace,
      args.id,
      args.weight,
      args.timeoutMs,
    );
    switch (outcome.kind) {
      case 'no-live-worker':
        throw new CommandFailure(`no live worker ${args.id}`);
      case 'not-taken': {
        const shows = outcome.current === undefined ? 'no entry' : `weight ${outcome.current}`;
        const deaf = outcome.listeners === 0 ? '; nobody listens on its channel' : '';
        throw new CommandFailure(
          `worker ${args.id} did not take weight ${args.weight} within ${args.timeoutMs} ms ` +
            `(its registry entry shows ${shows}${deaf}); the operator weight stays set ` +
            `(ringcast reweight ${args.id} --reset removes it)`,
        );
      }
      case 'taken':
        if (ctx.json) {
          ctx.out(
            JSON.stringify({ id: args.id, weight: outcome.weight, previous: outcome.previous }),
          );
        } else {
          ctx.out(`worker ${args.id}: weight ${outcome.weight} (was ${outcome.previous})`);
        }
    }
  },
};
