// The demo's task handlers. Workers load this module by path:
//   ringcast-worker --handlers scripts/demo/handlers.js
import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';

let runs = 0;

/**
 * Hashes the payload `rounds` times with sha256 (CPU work), then waits `waitMs`
 * (standing in for the I/O a real handler does). The result names the run that
 * produced it, so the demo can tell which worker and attempt each result came from.
 */
export async function digest(payload, ctx) {
  const started = performance.now();
  const { seq, data, rounds = 150, waitMs = 2 } = payload;
  let hex = `${seq}:${data}`;
  for (let i = 0; i < rounds; i++) hex = createHash('sha256').update(hex).digest('hex');
  if (waitMs > 0) await delay(waitMs, undefined, { signal: ctx.signal });
  runs++;
  return {
    seq,
    digest: hex.slice(0, 16),
    worker: ctx.workerId,
    attempt: ctx.attempt,
    run: `${process.pid}.${runs}`,
    ms: performance.now() - started,
  };
}
