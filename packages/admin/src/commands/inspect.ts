import { readTask } from '@ringcast/dispatcher';
import { positionalsOf } from '../cli-args.js';
import type { Command } from '../command.js';
import { CommandFailure } from '../errors.js';
import { renderTask, taskJson } from '../render/task-block.js';
import { idArgument } from './id-argument.js';

export const inspectCommand: Command<string> = {
  name: 'inspect',
  synopsis: 'inspect <task-id>',
  summary: "a durable task's record: state, attempts, worker, times, outcome",
  help: `Usage: ringcast inspect <task-id> [options]

Shows a durable task's record (the id submit() returned): handler, state,
attempts, the last attempt's worker, priority, when it was created, started
and finished, and its result or error. A finished task's record lasts its
resultTtlMs (24 h by default). --json prints the record as one object.
With auth.encrypt, the payload, result and error are stored encrypted: give
the deployment's keys (--auth-keys-file or RINGCAST_AUTH_KEYS) to read them;
without them they show as encrypted.
`,
  options: {},
  parse(_values, positionals) {
    const [id] = positionalsOf(positionals, ['task-id']);
    return idArgument('task', id!);
  },
  async run(ctx, id) {
    const task = await readTask(
      await ctx.connect(),
      { namespace: ctx.namespace, ...(ctx.auth && { auth: ctx.auth }) },
      id,
    );
    if (task === undefined) throw new CommandFailure(`no task ${id}`);
    ctx.out(ctx.json ? JSON.stringify(taskJson(task), null, 2) : renderTask(task));
  },
};
