import { positionalsOf } from '../cli-args.js';
import type { Command } from '../command.js';
import { CommandFailure } from '../errors.js';

/** The slot of `ringcast dashboard`; the dashboard itself is not built yet. */
export const dashboardCommand: Command<void> = {
  name: 'dashboard',
  synopsis: 'dashboard',
  summary: 'the live dashboard (not available yet)',
  help: `Usage: ringcast dashboard [options]

The live web dashboard. Not available yet.
`,
  options: {},
  parse(_values, positionals) {
    positionalsOf(positionals, []);
  },
  async run() {
    throw new CommandFailure('the dashboard is not available yet');
  },
};
