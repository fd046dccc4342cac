/**
 * The simulator batch over worker threads: the seed range cut into contiguous
 * parts, each run by {@link runBatch} in a thread of its own, and the results
 * merged into what one runBatch over the whole range gives (a seed's run
 * depends on its seed alone, not on the seeds run before it in the process).
 * `npm test` runs its files one at a time on a 2-core machine (vitest's default
 * is a worker per core less one), so the batch uses the second core itself.
 * Test-only: excluded from the build.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type BatchResult, runBatch } from '../batch.js';

/** Threads a batch uses: `SIM_THREADS`, or two where there are two cores. */
export function batchThreads(): number {
  const threads = Number(process.env['SIM_THREADS'] ?? Math.min(2, availableParallelism()));
  return Number.isInteger(threads) && threads > 1 ? threads : 1;
}

/** Runs seeds `from` .. `from + count - 1` over `threads` threads (in this one if 1). */
export async function runBatchInThreads(
  from: number,
  count: number,
  threads: number,
): Promise<BatchResult> {
  if (threads <= 1 || count < threads) return runBatch(from, count);
  const started = performance.now();
  const parts: Array<Promise<BatchResult>> = [];
  for (let i = 0, first = from; i < threads; i++) {
    const size = Math.floor(count / threads) + (i < count % threads ? 1 : 0);
    parts.push(inThread(first, size));
    first += size;
  }
  const results = await Promise.all(parts);
  const merged: BatchResult = {
    seeds: count,
    seconds: (performance.now() - started) / 1_000,
    failed: results.flatMap((r) => r.failed),
    known: {},
    coverage: {},
    outcomes: {},
  };
  for (const r of results) {
    add(merged.known, r.known);
    add(merged.coverage, r.coverage);
    add(merged.outcomes, r.outcomes);
  }
  return merged;
}

function add<K extends string | number>(into: Record<K, number>, from: Record<K, number>): void {
  for (const [k, v] of Object.entries(from) as Array<[K, number]>) into[k] = (into[k] ?? 0) + v;
}

function inThread(from: number, count: number): Promise<BatchResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./batch-thread.mjs', import.meta.url), {
      workerData: { from, count },
    });
    let result: BatchResult | undefined;
    worker.once('message', (message: BatchResult) => {
      result = message;
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (result) resolve(result);
      else
        reject(
          new Error(`the batch thread for seeds from ${from} exited (${code}) with no result`),
        );
    });
  });
}
