import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BACKLOG_PRIORITY_STEP, backlogScore, isValidPriority } from './durable.js';
import { ErrorCode, RingcastError } from './errors.js';
import { PRIORITY_MAX, PRIORITY_MIN } from './limits.js';

const RUNS = 500;
const priorityArb = fc.integer({ min: PRIORITY_MIN, max: PRIORITY_MAX });
const createdAtArb = fc.integer({ min: 0, max: BACKLOG_PRIORITY_STEP - 1 });
const taskArb = fc.record({ priority: priorityArb, createdAt: createdAtArb });

/** The order the backlog promises: higher priority first, then older first. */
function promised(
  a: { priority: number; createdAt: number },
  b: { priority: number; createdAt: number },
): number {
  return b.priority - a.priority || a.createdAt - b.createdAt;
}

describe('backlogScore', () => {
  it('orders by priority (higher first), then by age (older first), over random tasks', () => {
    fc.assert(
      fc.property(fc.array(taskArb, { minLength: 2, maxLength: 50 }), (tasks) => {
        const byScore = [...tasks].sort(
          (a, b) => backlogScore(a.priority, a.createdAt) - backlogScore(b.priority, b.createdAt),
        );
        const byPromise = [...tasks].sort(promised);
        expect(byScore).toEqual(byPromise);
      }),
      { numRuns: RUNS },
    );
  });

  it('compares two tasks exactly as the promised order does, including at the bounds', () => {
    const edgy = fc.record({
      priority: fc.oneof(fc.constantFrom(PRIORITY_MIN, PRIORITY_MAX, 0), priorityArb),
      createdAt: fc.oneof(fc.constantFrom(0, BACKLOG_PRIORITY_STEP - 1), createdAtArb),
    });
    fc.assert(
      fc.property(edgy, edgy, (a, b) => {
        const scored = Math.sign(
          backlogScore(a.priority, a.createdAt) - backlogScore(b.priority, b.createdAt),
        );
        expect(scored).toBe(Math.sign(promised(a, b)));
      }),
      { numRuns: RUNS },
    );
  });

  it('is an exact integer below 2^53, so Redis and Lua keep it as it is', () => {
    fc.assert(
      fc.property(taskArb, ({ priority, createdAt }) => {
        const score = backlogScore(priority, createdAt);
        expect(Number.isSafeInteger(score)).toBe(true);
        expect(score).toBeGreaterThanOrEqual(0);
        expect(score).toBeLessThan(2 ** 53);
        // Both parts come back out of it: nothing was rounded away.
        expect(score % BACKLOG_PRIORITY_STEP).toBe(createdAt);
        expect(PRIORITY_MAX - Math.floor(score / BACKLOG_PRIORITY_STEP)).toBe(priority);
        // The decimal text Redis stores parses back to the same number.
        expect(Number(String(score))).toBe(score);
      }),
      { numRuns: RUNS },
    );
  });

  it.each([
    [PRIORITY_MAX + 1, 0],
    [PRIORITY_MIN - 1, 0],
    [0.5, 0],
    [Number.NaN, 0],
    [0, -1],
    [0, BACKLOG_PRIORITY_STEP],
    [0, 1.5],
    [0, Number.POSITIVE_INFINITY],
  ])('refuses priority %d with createdAt %d as INVALID_OPTIONS', (priority, createdAt) => {
    let caught: unknown;
    try {
      backlogScore(priority, createdAt);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RingcastError);
    expect((caught as RingcastError).code).toBe(ErrorCode.INVALID_OPTIONS);
  });

  it('knows a valid priority', () => {
    expect(isValidPriority(PRIORITY_MIN)).toBe(true);
    expect(isValidPriority(PRIORITY_MAX)).toBe(true);
    expect(isValidPriority(PRIORITY_MAX + 1)).toBe(false);
    expect(isValidPriority('1')).toBe(false);
    expect(isValidPriority(1.5)).toBe(false);
  });
});
