import { describe, expect, it } from 'vitest';
import {
  acknowledge,
  endAttempt,
  mayStartAttempt,
  publishFailed,
  queue,
  resend,
  retryAfterError,
  settle,
  startAttempt,
  type TaskRecord,
  TaskState,
} from './task.js';

function task(retries = 0): TaskRecord<string> {
  return {
    seq: 0,
    id: 't0',
    durable: false,
    handler: 'h',
    payload: undefined,
    bytes: 0,
    deadline: 0,
    key: undefined,
    priority: 0,
    sentAt: 0,
    createdAt: 0,
    resolve: () => {},
    reject: () => {},
    state: TaskState.New,
    attempt: 0,
    spent: 0,
    retriesLeft: retries,
    retried: 0,
    lastError: undefined,
    worker: undefined,
    acknowledged: false,
    resent: false,
    ackedBy: undefined,
    lastWorker: undefined,
    signal: undefined,
    wakeAt: 0,
    wheelPrev: undefined,
    wheelNext: undefined,
    wheelSlot: -1,
  };
}

const flaky = { name: 'FlakyError', message: 'again', retryable: true };

type Outcome = 'lost' | 'refused' | 'publishFailed' | 'retryableError';

/**
 * Drives a task through attempts that end as `outcomes` say (the last outcome
 * repeats; 100 attempts stand in for the deadline) until the attempt bound or
 * the retries stop it; returns how many attempts may have reached a handler.
 */
function runs(maxAttempts: number, retries: number, outcomes: Outcome[]): number {
  const t = task(retries);
  let ran = 0;
  for (let i = 0; i < 100 && startAttempt(t, maxAttempts); i++) {
    const outcome = outcomes[Math.min(i, outcomes.length - 1)]!;
    if (outcome === 'lost' || outcome === 'retryableError') ran++;
    if (outcome === 'lost' && !endAttempt(t, true, maxAttempts)) break;
    if (outcome === 'refused' && !endAttempt(t, false, maxAttempts)) break;
    if (outcome === 'publishFailed') publishFailed(t);
    if (outcome === 'retryableError' && !retryAfterError(t, flaky)) break;
  }
  return ran;
}

describe('the attempt bound', () => {
  it.each([
    // maxAttempts, retries, outcomes, runs
    [1, 1, ['retryableError'], 2],
    [1, 1, ['retryableError', 'lost'], 2],
    [1, 0, ['publishFailed', 'lost'], 1],
    [1, 0, ['refused', 'refused', 'lost'], 1],
    [3, 0, ['lost'], 3],
    [3, 2, ['retryableError', 'lost'], 4],
    [3, 2, ['lost', 'retryableError', 'publishFailed', 'lost'], 4],
    [3, 2, ['lost', 'lost', 'retryableError', 'retryableError', 'lost'], 5],
    // Every run fails: the retries run out first, and it ends HANDLER_ERROR.
    [2, 5, ['retryableError'], 6],
  ] as const)(
    'maxAttempts %i, retries %i, outcomes %j: %i runs',
    (max, retries, outcomes, expected) => {
      expect(runs(max, retries, [...outcomes])).toBe(expected);
    },
  );

  it('never lets a task run more than maxAttempts + retries times, whatever the mix', () => {
    const kinds: Outcome[] = ['lost', 'refused', 'publishFailed', 'retryableError'];
    for (let seed = 0; seed < 500; seed++) {
      const outcomes = Array.from(
        { length: 12 },
        (_, i) => kinds[(seed * 7 + i * ((seed % 5) + 1)) % 4]!,
      );
      const max = (seed % 3) + 1;
      const retries = seed % 4;
      expect(runs(max, retries, outcomes)).toBeLessThanOrEqual(max + retries);
    }
  });

  it('counts an attempt once however many transitions report its end', () => {
    const t = task(1);
    expect(startAttempt(t, 1)).toBe(true);
    expect(retryAfterError(t, flaky)).toBe(true);
    // A second report of the same end (the old double decrement) changes nothing.
    expect(endAttempt(t, false, 1)).toBe(false);
    expect(publishFailed(t)).toBe(false);
    expect(t).toMatchObject({ state: TaskState.Waiting, spent: 0, retriesLeft: 0, retried: 1 });
    expect(startAttempt(t, 1)).toBe(true);
    expect(t).toMatchObject({ state: TaskState.Sent, attempt: 2, spent: 1 });
    expect(endAttempt(t, true, 1)).toBe(false);
    expect(mayStartAttempt(t, 1)).toBe(false);
    expect(startAttempt(t, 1)).toBe(false);
    expect(t.attempt).toBe(2);
  });

  it('never takes back an attempt its worker acknowledged, even while it is sent again', () => {
    const t = task();
    expect(startAttempt(t, 1)).toBe(true);
    expect(acknowledge(t)).toBe(true);
    // Recovery sends it again: Sent, but it may be running on its worker.
    expect(resend(t)).toBe(true);
    expect(t).toMatchObject({ state: TaskState.Sent, acknowledged: true });
    expect(publishFailed(t)).toBe(false);
    // A caller that believes it never ran (a leave before the fresh ack) cannot refund it.
    expect(endAttempt(t, false, 1)).toBe(false);
    expect(t.spent).toBe(1);
    expect(startAttempt(t, 1)).toBe(false);
    // Sent twice and never acknowledged: a refusal of one copy does not refund it either.
    const twice = task();
    expect(startAttempt(twice, 1)).toBe(true);
    expect(resend(twice)).toBe(true);
    expect(twice).toMatchObject({ acknowledged: false, resent: true });
    expect(publishFailed(twice)).toBe(false);
    expect(endAttempt(twice, false, 1)).toBe(false);
    expect(twice.spent).toBe(1);
    // A new attempt starts unacknowledged.
    const u = task();
    expect(startAttempt(u, 2)).toBe(true);
    expect(acknowledge(u)).toBe(true);
    expect(endAttempt(u, true, 2)).toBe(true);
    expect(startAttempt(u, 2)).toBe(true);
    expect(u).toMatchObject({ attempt: 2, acknowledged: false, resent: false });
  });
});

describe('transitions', () => {
  it('follows the table and refuses the rest', () => {
    const t = task();
    expect(acknowledge(t)).toBe(false);
    queue(t);
    expect(t.state).toBe(TaskState.Queued);
    expect(startAttempt(t, 3)).toBe(true);
    expect(t).toMatchObject({ state: TaskState.Sent, attempt: 1, spent: 1 });
    expect(startAttempt(t, 3)).toBe(false);
    expect(acknowledge(t)).toBe(true);
    expect(acknowledge(t)).toBe(false);
    expect(resend(t)).toBe(true);
    expect(t.state).toBe(TaskState.Sent);
    expect(t.attempt).toBe(1);
    expect(retryAfterError(t, flaky)).toBe(false);
    expect(settle(t)).toBe(TaskState.Sent);
    expect(settle(t)).toBeUndefined();
    expect(startAttempt(t, 3)).toBe(false);
    expect(resend(t)).toBe(false);
    queue(t);
    expect(t.state).toBe(TaskState.Settled);
  });

  it('settles a task that was never placed', () => {
    const t = task();
    expect(settle(t)).toBe(TaskState.New);
    expect(t.state).toBe(TaskState.Settled);
  });
});
