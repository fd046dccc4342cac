// A dispatcher paused past its owner TTL resumes after its durable task was adopted,
// and retries it with an attempt number the adopter used already: the same token.
// Its copy must not stop the adopter's run, nor take its answers: real cores, one
// worker, virtual time. (Found by review; before the fix the task ended TIMEOUT.)
import { createDispatcherCore, MemoryTransport } from '@ringcast/dispatcher/internal';
import { MemoryRedis, ProcessClock, VirtualClock } from '@ringcast/protocol';
import { expect, it } from 'vitest';
import { untilSettled } from './testing/until-settled.js';
import { fastWorkerCore } from './testing/worker-core.js';

const NS = 'p';

it('a stale owner retrying with the adopter’s attempt number neither aborts nor steals the adopter’s run', async () => {
  const clock = new VirtualClock();
  const redis = new MemoryRedis(clock);
  const log: string[] = [];
  const runs: Array<{
    attempt: number;
    resolve: (v: unknown) => void;
    reject: (e: unknown) => void;
    aborted: boolean;
  }> = [];
  const worker = fastWorkerCore(redis, NS, {
    job: (_payload, ctx) =>
      new Promise((resolve, reject) => {
        const run = { attempt: ctx.attempt, resolve, reject, aborted: false };
        runs.push(run);
        log.push(`${clock.now()} run attempt ${ctx.attempt}`);
        ctx.signal.addEventListener('abort', () => {
          run.aborted = true;
          log.push(
            `${clock.now()} attempt ${ctx.attempt} ABORTED: ${String((ctx.signal.reason as Error)?.message)}`,
          );
          reject(ctx.signal.reason);
        });
      }),
  });
  const opts = (id: string) => ({
    namespace: NS,
    id,
    logger: false as const,
    timeoutMs: 10_000,
    ackTimeoutMs: 500,
    reconcileIntervalMs: 100,
    ownerHeartbeatMs: 100,
    retryBackoffMs: 50,
    maxRetryBackoffMs: 50,
  });
  const p1 = new ProcessClock(clock);
  const d1 = createDispatcherCore(new MemoryTransport(redis, { clock: p1, gate: p1 }), opts('d1'));
  const p2 = new ProcessClock(clock);
  const d2 = createDispatcherCore(new MemoryTransport(redis, { clock: p2, gate: p2 }), opts('d2'));
  const until = untilSettled(clock, 20_000);
  await until(worker.start());
  await until(d1.start());
  await until(d2.start());
  await clock.runUntil(clock.now() + 500);

  const id = await until(d1.submit('job', { x: 1 }, { retries: 1 }));
  await clock.runUntil(clock.now() + 50, () => runs.length === 1);
  expect(runs[0]!.attempt).toBe(1);
  // d1 stops (SIGSTOP / long GC) for 2 s; meanwhile attempt 1 fails retryably.
  p1.freeze(2_000);
  log.push(`${clock.now()} d1 frozen`);
  const e = Object.assign(new Error('flaky'), { retryable: true });
  runs[0]!.reject(e);
  // d2 adopts d1's task (its heartbeat lapsed) and runs attempt 2 on w1.
  await clock.runUntil(clock.now() + 1_000, () => runs.length === 2);
  log.push(
    `${clock.now()} adopter run: attempt ${runs[1]?.attempt}; d2 stats ${JSON.stringify(d2.stats().durable)}`,
  );
  // d1 thaws, handles attempt 1's retryable failure and retries.
  await clock.runUntil(clock.now() + 2_500);
  log.push(`${clock.now()} d1 stats ${JSON.stringify(d1.stats())}`);
  // The adopter's attempt 2 finishes (if it was not aborted).
  if (!runs[1]!.aborted) runs[1]!.resolve('ok-from-attempt-2');
  await clock.runUntil(clock.now() + 12_000);
  const info = await until(d2.task(id));
  log.push(
    `record: ${JSON.stringify({ state: info?.state, result: info?.result, error: info?.error, attempts: info?.attempts })}`,
  );
  expect(info?.state, log.join('\n')).toBe('succeeded');
  expect(info?.result).toBe('ok-from-attempt-2');
  expect(runs[1]!.aborted, log.join('\n')).toBe(false);
});
