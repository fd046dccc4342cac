import { describe, expect, it } from 'vitest';
import { serialDrainMs } from './drain-bound.js';
import type { PlannedCall } from './workload.js';

function call(
  mode: PlannedCall['payload']['mode'],
  delayMs: number,
  timeoutMs: number,
  retries: number,
): PlannedCall {
  return {
    call: 1,
    at: 0,
    dispatcher: 0,
    payload: { call: 1, echo: 'e', mode, delayMs, failRuns: 0 },
    timeoutMs,
    retries,
    abortAfterMs: undefined,
    durable: true,
  };
}

describe('serialDrainMs', () => {
  it('counts a slot held for the timeout of each attempt, one more for an attempt cut short', () => {
    expect(serialDrainMs([call('async', 300, 1_000, 0)])).toBe(2_000);
    expect(serialDrainMs([call('retryable', 300, 1_000, 2)])).toBe(4_000);
  });

  it('counts a handler that ignores its signal for its whole run, past its deadline', () => {
    // Seed 141, drawn with change notices lost: the backlog waited behind 7.4 s runs with < 1 s timeouts.
    expect(serialDrainMs([call('ignore-signal', 7_385, 947, 0)])).toBe(2 * 7_385);
    expect(serialDrainMs([call('ignore-signal', 500, 947, 0)])).toBe(2 * 947);
  });

  it('adds the calls up: one slot runs them one after another', () => {
    const calls = [call('async', 10, 1_000, 0), call('ignore-signal', 5_000, 1_000, 1)];
    expect(serialDrainMs(calls)).toBe(2_000 + 15_000);
  });
});
