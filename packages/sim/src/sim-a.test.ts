// Half of npm test's simulator batch; the other half is in sim-b.test.ts so the two run in parallel.
import { expect, it } from 'vitest';
import { describeFailure, runBatch } from './batch.js';
import { KNOWN_BUGS } from './known-bugs.js';

const SEEDS = Number(process.env.SIM_SEEDS ?? 300);
const FROM = 1;

it(`${SEEDS} simulated seeds from ${FROM} break no invariant`, async () => {
  const result = await runBatch(FROM, SEEDS);
  console.info(
    `sim: ${SEEDS} seeds from ${FROM} in ${result.seconds.toFixed(1)} s (${(SEEDS / result.seconds).toFixed(1)}/s); faults ${JSON.stringify(result.coverage)}; outcomes ${JSON.stringify(result.outcomes)}`,
  );
  for (const [seed, count] of Object.entries(result.known)) {
    const bug = KNOWN_BUGS.find((b) => b.seed === Number(seed));
    console.warn(`sim: KNOWN BUG (seed ${seed}) hit ${count} time(s): ${bug?.what}`);
  }
  expect(result.failed, describeFailure(result)).toEqual([]);
}, 120_000);
