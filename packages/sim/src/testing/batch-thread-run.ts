// The work of one thread of runBatchInThreads (batch-threads.ts): its seeds, one after another.
import { parentPort, workerData } from 'node:worker_threads';
import { runBatch } from '../batch.js';

const { from, count } = workerData as { from: number; count: number };
parentPort?.postMessage(await runBatch(from, count));
