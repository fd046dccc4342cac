// npm run sim -- --seed S | --seeds N [--from S]: the deterministic simulator (packages/sim).
import { parseArgs } from 'node:util';
import { knownBug, type RunResult, runSeed } from '@ringcast/sim';

const USAGE = `Usage: npm run sim -- [--seed S | --seeds N [--from S]] [--trace N]

Runs the real dispatcher and worker cores on a simulated Redis and clock under
random faults drawn from each seed, and checks ringcast's invariants.

  --seed <s>    replay one seed; prints its trace
  --seeds <n>   run n seeds (default 100)
  --from <s>    first seed of the range (default 1)
  --trace <n>   trace lines printed for a failing seed (default 60)
  -h, --help    show this help

Exits 1 if any seed breaks an invariant, 2 on bad arguments.
`;

function fail(message: string): never {
  process.stderr.write(`sim: ${message}\n${USAGE}`);
  process.exit(2);
}

let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      seed: { type: 'string' },
      seeds: { type: 'string' },
      from: { type: 'string' },
      trace: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }));
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

function integer(name: string, min: number, fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw))
    fail(`--${name} must be an integer, got ${raw}`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > 0xffffffff) fail(`--${name} out of range: ${raw}`);
  return n;
}

if (values.seed !== undefined && (values.seeds !== undefined || values.from !== undefined)) {
  fail('--seed replays one seed; use --seeds N --from S for a range');
}
const single = values.seed !== undefined;
const from = single ? integer('seed', 0, 1) : integer('from', 0, 1);
const count = single ? 1 : integer('seeds', 1, 100);
const traceLines = integer('trace', 0, 60);

const coverage: Record<string, number> = {};
const outcomes: Record<string, number> = {};
let failed: RunResult | undefined;
let failures = 0;
let events = 0;
const started = performance.now();
/** A long campaign says where it stands every so often (on stderr, so stdout stays the report). */
const PROGRESS_EVERY_MS = 10_000;
let lastProgress = started;
for (let seed = from; seed < from + count; seed++) {
  const now = performance.now();
  if (!single && now - lastProgress >= PROGRESS_EVERY_MS) {
    lastProgress = now;
    const done = seed - from;
    const rate = done / ((now - started) / 1_000);
    process.stderr.write(
      `sim: ${done}/${count} seeds, ${failures} failed, ${rate.toFixed(1)} seeds/s, about ${Math.round((count - done) / rate)} s to go\n`,
    );
  }
  const result = await runSeed(seed);
  events += result.events;
  for (const [k, v] of Object.entries(result.coverage)) coverage[k] = (coverage[k] ?? 0) + v;
  for (const [k, v] of Object.entries(result.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + v;
  if (single) {
    process.stdout.write(`${result.trace.join('\n')}\n`);
  }
  if (result.violations.length > 0) {
    failures++;
    failed ??= result;
    process.stdout.write(`seed ${seed}: ${result.violations.length} violation(s)\n`);
    for (const v of result.violations) {
      const bug = knownBug(v);
      process.stdout.write(
        `  ${v}${bug ? ` (known bug, first seen with seed ${bug.seed})` : ''}\n`,
      );
    }
    process.stdout.write(`  replay: npm run sim -- --seed ${seed}\n`);
  }
}
const seconds = (performance.now() - started) / 1_000;
const format = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || 'none';
process.stdout.write(
  `${count} seed(s) from ${from} in ${seconds.toFixed(1)} s: ${(count / seconds).toFixed(1)} seeds/s, ${events} events\n` +
    `faults fired: ${format(coverage)}\n` +
    `outcomes: ${format(outcomes)}\n`,
);
if (failed) {
  if (!single) {
    process.stdout.write(
      `\nlast events of seed ${failed.seed}:\n${failed.trace.slice(-traceLines).join('\n')}\n`,
    );
  }
  process.stdout.write(
    `\n${failures} seed(s) broke an invariant. Replay the first: npm run sim -- --seed ${failed.seed}\n`,
  );
  process.exit(1);
}
