import { expect } from 'vitest';
import { describeFailure } from '../batch.js';
import { KNOWN_BUGS } from '../known-bugs.js';
import { batchThreads, runBatchInThreads } from './batch-threads.js';

/**
 * One test of `npm test`'s simulator batch: `SIM_SEEDS` seeds (default 1,000)
 * from `from`, over {@link batchThreads} threads. The batch is split over test
 * files so that vitest can run the halves in parallel where it runs files in parallel.
 */
export async function expectSeedsHold(from: number): Promise<void> {
  const seeds = Number(process.env['SIM_SEEDS'] ?? 1_000);
  const threads = batchThreads();
  const result = await runBatchInThreads(from, seeds, threads);
  console.info(
    `sim: ${seeds} seeds from ${from} in ${result.seconds.toFixed(1)} s on ${threads} thread(s) (${(seeds / result.seconds).toFixed(1)}/s); faults ${JSON.stringify(result.coverage)}; outcomes ${JSON.stringify(result.outcomes)}`,
  );
  for (const [seed, count] of Object.entries(result.known)) {
    const bug = KNOWN_BUGS.find((b) => b.seed === Number(seed));
    console.warn(`sim: KNOWN BUG (seed ${seed}) hit ${count} time(s): ${bug?.what}`);
  }
  expect(result.failed, describeFailure(result)).toEqual([]);
}
