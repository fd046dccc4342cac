// BullMQ's side of the durable scenario: one worker process, as BullMQ's docs start one (a
// `Worker` on the queue with a processor and a concurrency), with the bench's echo handler.
import { parseArgs } from 'node:util';
import { Worker } from 'bullmq';
import { bullmqConnection } from './bullmq-connection.js';

const { values } = parseArgs({
  options: {
    redis: { type: 'string' },
    queue: { type: 'string' },
    concurrency: { type: 'string' },
  },
  strict: true,
});
const { redis: url, queue } = values;
const concurrency = Number(values.concurrency);
if (!url || !queue || !Number.isInteger(concurrency) || concurrency < 1) {
  console.error('usage: bullmq-worker --redis URL --queue NAME --concurrency C');
  process.exit(2);
}

// The echo handler of every scenario: the job's data is its result.
const worker = new Worker(queue, async (job) => job.data, {
  connection: bullmqConnection(url),
  concurrency,
});
worker.on('error', (error) => console.error(`worker error: ${error.message}`));
await worker.waitUntilReady();
console.log('ready');

process.once('SIGTERM', () => {
  worker.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
