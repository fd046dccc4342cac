/** Every `ringcast` command, in the order `ringcast --help` lists them. */
import type { AnyCommand } from '../command.js';
import { aclCommand } from './acl.js';
import { dashboardCommand } from './dashboard.js';
import { drainCommand } from './drain.js';
import { inspectCommand } from './inspect.js';
import { reweightCommand } from './reweight.js';
import { statsCommand } from './stats.js';
import { workersCommand } from './workers.js';

export const COMMANDS: ReadonlyMap<string, AnyCommand> = new Map(
  [
    workersCommand,
    statsCommand,
    reweightCommand,
    drainCommand,
    inspectCommand,
    dashboardCommand,
    aclCommand,
  ].map((command): [string, AnyCommand] => [command.name, command]),
);
