// npm run faults -- --tasks N: the fault-injection suite (test/faults) at a chosen scale.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const USAGE = `Usage: npm run faults -- [--tasks N]

Runs the fault-injection suite (test/faults/faults.test.ts): twelve fault scenarios
against CLI workers and a private redis-server each, every task checked against a
settlement ledger. Prints one table; exits non-zero if any scenario fails.

  --tasks <n>   tasks per scenario (default 2000, as in npm test)
  -h, --help    show this help
`;

const { values } = parseArgs({
  options: { tasks: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  strict: true,
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const tasks = values.tasks ?? '2000';
if (!/^[1-9]\d*$/.test(tasks)) {
  process.stderr.write(`faults: --tasks must be a positive integer, got ${tasks}\n${USAGE}`);
  process.exit(2);
}

const root = fileURLToPath(new URL('..', import.meta.url));
const child = spawn(
  process.execPath,
  [
    fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url)),
    'run',
    '--project',
    'integration',
    'test/faults/faults.test.ts',
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, RINGCAST_FAULT_TASKS: tasks } },
);
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  process.exit(code ?? 1);
});
