// npm run faults -- --tasks N: the fault-injection suite (test/faults) at a chosen scale.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const USAGE = `Usage: npm run faults -- [--tasks N]

Runs the fault-injection suite: twelve fault scenarios against CLI workers and a
private redis-server each (test/faults/faults.test.ts), every task checked against a
settlement ledger; the bad-input scenario again with frame authentication on, forged,
stale and replayed frames on every channel (test/faults/auth-faults.test.ts); and six
durable-task scenarios with dispatchers in processes of their own
(test/faults/durable-faults.test.ts), every promised task checked against what Redis
stored. Prints a table per file; exits non-zero if any scenario fails.

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
    // One file after the other: on 2 cores, scenarios running side by side only slow each other.
    '--no-file-parallelism',
    '--project',
    'integration',
    'test/faults/faults.test.ts',
    'test/faults/auth-faults.test.ts',
    'test/faults/durable-faults.test.ts',
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, RINGCAST_FAULT_TASKS: tasks } },
);
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  process.exit(code ?? 1);
});
