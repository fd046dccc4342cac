import { describe, expect, it } from 'vitest';
import { Checker } from './checker.js';

const ok = (call: number, attempt: number, echo = `e${call}`) => ({
  ok: true as const,
  value: { call, attempt, echo },
});

describe('Checker', () => {
  it('passes a run where every call settled once with its own output', () => {
    const c = new Checker();
    c.dispatched(1, 'e1', 3, 0);
    c.ran(1, 1);
    c.settled(1, ok(1, 1), 5);
    c.dispatched(2, 'e2', 3, 1);
    c.settled(2, { ok: false, code: 'TIMEOUT', message: 'late' }, 9);
    expect(c.finish()).toEqual([]);
    expect(c.outcomes()).toEqual({ ok: 1, TIMEOUT: 1 });
  });

  it.each([
    ['a call that never settled', (c: Checker) => c.dispatched(1, 'e1', 3, 0), /never settled/],
    [
      'a second settlement',
      (c: Checker) => {
        c.dispatched(1, 'e1', 3, 0);
        c.ran(1, 1);
        c.settled(1, ok(1, 1), 1);
        c.settled(1, { ok: false, code: 'TIMEOUT', message: '' }, 2);
      },
      /settled twice/,
    ],
    [
      "another call's output",
      (c: Checker) => {
        c.dispatched(1, 'e1', 3, 0);
        c.ran(1, 1);
        c.settled(1, ok(2, 1, 'e2'), 1);
      },
      /not its handler's output/,
    ],
    [
      'runs past the bound',
      (c: Checker) => {
        c.dispatched(1, 'e1', 2, 0);
        c.fault('crash', 0);
        for (let a = 1; a <= 3; a++) c.ran(1, a);
        c.settled(1, ok(1, 3), 1);
      },
      /over its bound/,
    ],
    [
      'a second run with no fault to explain it',
      (c: Checker) => {
        c.dispatched(1, 'e1', 3, 0);
        c.ran(1, 1);
        c.ran(1, 2);
        c.settled(1, ok(1, 2), 10);
        c.fault('crash', 11);
      },
      /no fault to explain it/,
    ],
    [
      'a fenced-off result delivered',
      (c: Checker) => {
        c.dispatched(1, 'e1', 3, 0);
        c.fault('pause', 1);
        c.ran(1, 1);
        c.ran(1, 2);
        c.settled(1, ok(1, 1), 3);
      },
      /fenced-off result/,
    ],
    [
      'an ok result that never ran',
      (c: Checker) => {
        c.dispatched(1, 'e1', 3, 0);
        c.settled(1, ok(1, 1), 3);
      },
      /never ran/,
    ],
    [
      'a settlement after close()',
      (c: Checker) => {
        c.dispatched(1, 'e1', 3, 0);
        c.closed(5);
        c.settled(1, { ok: false, code: 'CLOSED', message: '' }, 6);
      },
      /after close\(\) resolved/,
    ],
  ])('reports %s', (_name, script, expected) => {
    const c = new Checker();
    script(c);
    const violations = c.finish();
    expect(violations.some((v) => expected.test(v))).toBe(true);
  });

  it('accepts a second run that a retryable error or a fault explains', () => {
    const c = new Checker();
    c.dispatched(1, 'e1', 3, 0);
    c.ran(1, 1);
    c.retryableError(1);
    c.ran(1, 2);
    c.settled(1, ok(1, 2), 4);
    c.dispatched(2, 'e2', 3, 0);
    c.ran(2, 1);
    c.fault('subscriber-drop', 2);
    c.ran(2, 2);
    c.settled(2, ok(2, 2), 4);
    expect(c.finish()).toEqual([]);
  });
});
