import { knownBug } from './known-bugs.js';
import { type RunResult, runSeed } from './run.js';

export interface BatchResult {
  seeds: number;
  seconds: number;
  /** Seeds with a violation no known bug explains, in order. */
  failed: RunResult[];
  /** Violations of known bugs, by the bug's seed. */
  known: Record<number, number>;
  coverage: Record<string, number>;
  outcomes: Record<string, number>;
}

/** Runs seeds `from` .. `from + count - 1`, one after another. */
export async function runBatch(from: number, count: number): Promise<BatchResult> {
  const result: BatchResult = {
    seeds: count,
    seconds: 0,
    failed: [],
    known: {},
    coverage: {},
    outcomes: {},
  };
  const started = performance.now();
  for (let seed = from; seed < from + count; seed++) {
    const run = await runSeed(seed);
    for (const [k, v] of Object.entries(run.coverage))
      result.coverage[k] = (result.coverage[k] ?? 0) + v;
    for (const [k, v] of Object.entries(run.outcomes))
      result.outcomes[k] = (result.outcomes[k] ?? 0) + v;
    const unknown = run.violations.filter((v) => {
      const bug = knownBug(v);
      if (bug) result.known[bug.seed] = (result.known[bug.seed] ?? 0) + 1;
      return !bug;
    });
    if (unknown.length > 0) result.failed.push({ ...run, violations: unknown });
  }
  result.seconds = (performance.now() - started) / 1_000;
  return result;
}

/** The assertion message for a failed batch: the first failing seed's replay command and last events. */
export function describeFailure(result: BatchResult): string {
  const first = result.failed[0];
  if (!first) return 'no failures';
  return [
    `${result.failed.length} seed(s) broke an invariant; replay the first: npm run sim -- --seed ${first.seed}`,
    ...first.violations.map((v) => `  ${v}`),
    'last events:',
    ...first.trace.slice(-40),
  ].join('\n');
}
