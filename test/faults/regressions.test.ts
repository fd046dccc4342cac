// Focused regression tests for bugs the fault-injection suite found.
import { describe, expect, it } from 'vitest';
import { privateRedisAvailable } from '../support/redis.js';
import { Scenario } from './harness.js';

describe.skipIf(!privateRedisAvailable)('fault-suite regressions', () => {
  it('a task that outlives its timeout rejects TIMEOUT, never HANDLER_ERROR', async () => {
    // The worker aborts the handler at the deadline and replies at once; that reply
    // used to beat the dispatcher's own timer about one time in twenty. Every timeout
    // here is shorter than the handler's 200 ms, so no task can honestly succeed.
    const s = await Scenario.start('timeout race');
    try {
      await s.worker('w1', { concurrency: 500 });
      const d = await s.dispatcher();
      await s.routable(d, 1);
      await Promise.all(
        Array.from({ length: 400 }, (_, i) =>
          s.ledger.dispatch(d, `k${i}`, { ms: 200 }, { timeoutMs: 150 + (i % 40) }),
        ),
      );
      const codes = s.ledger.keys().map((k) => s.ledger.settlements(k)[0]?.code);
      expect(codes.filter((c) => c !== 'TIMEOUT')).toEqual([]);
    } finally {
      await s.close();
      s.removeRunLogs();
    }
  }, 60_000);
});
