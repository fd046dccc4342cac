import type { Clock, Timer } from '@ringcast/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TimerWheel, type WheelEntry } from './timer-wheel.js';

/** Node's timers and Date, looked up at call time so that vitest's fake ones drive the wheel. */
const clock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms) as unknown as Timer,
  setInterval: (callback, ms) => setInterval(callback, ms) as unknown as Timer,
  clearTimer: (timer) => clearInterval(timer as unknown as NodeJS.Timeout),
  setImmediate: (callback) => setImmediate(callback),
};

interface Entry extends WheelEntry {
  readonly name: string;
}

const TICK = 10;
const SLOTS = 1024;
const REVOLUTION = SLOTS * TICK;
/** Fake "now" when the wheel starts; tick-aligned and not a multiple of a revolution. */
const T0 = 1_000_000;

function entry(name: string): Entry {
  return { name, wakeAt: 0, wheelPrev: undefined, wheelNext: undefined, wheelSlot: -1 };
}

let wheels: TimerWheel<Entry>[] = [];

/** A wheel recording `[name, now]` for every fire, plus an optional hook run inside the callback. */
function setup(hook?: (e: Entry, now: number) => void) {
  const fired: Array<[string, number]> = [];
  const wheel = new TimerWheel<Entry>(clock, TICK, (e, now) => {
    fired.push([e.name, now]);
    hook?.(e, now);
  });
  wheels.push(wheel);
  return { wheel, fired };
}

/** Calls advance at every `step` ms in (from, to]. */
function run(wheel: TimerWheel<Entry>, from: number, to: number, step = TICK): void {
  for (let t = from + step; t <= to; t += step) wheel.advance(t);
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});

afterEach(() => {
  for (const wheel of wheels) wheel.clear();
  wheels = [];
  // No interval may outlive a wheel that has been cleared.
  expect(vi.getTimerCount()).toBe(0);
  vi.useRealTimers();
});

describe('TimerWheel', () => {
  it('fires an entry once, on the first advance at or after wakeAt, never before', () => {
    const { wheel, fired } = setup();
    const a = entry('a');
    wheel.schedule(a, T0 + 50);
    expect(wheel.size).toBe(1);
    expect(a.wheelSlot).toBeGreaterThanOrEqual(0);
    run(wheel, T0, T0 + 40);
    expect(fired).toEqual([]);
    wheel.advance(T0 + 50);
    expect(fired).toEqual([['a', T0 + 50]]);
    expect(a.wheelSlot).toBe(-1);
    expect(wheel.size).toBe(0);
    run(wheel, T0 + 50, T0 + 3 * REVOLUTION, 100);
    expect(fired).toHaveLength(1);
  });

  it('fires late (not early) when advance comes after wakeAt, passing the actual now', () => {
    const { wheel, fired } = setup();
    wheel.schedule(entry('a'), T0 + 30);
    wheel.schedule(entry('b'), T0 + 70);
    wheel.advance(T0 + 55);
    expect(fired).toEqual([['a', T0 + 55]]);
    wheel.advance(T0 + 99);
    expect(fired).toEqual([
      ['a', T0 + 55],
      ['b', T0 + 99],
    ]);
  });

  it('cancel prevents firing and is idempotent', () => {
    const { wheel, fired } = setup();
    const a = entry('a');
    const b = entry('b');
    wheel.schedule(a, T0 + 20);
    wheel.schedule(b, T0 + 20);
    wheel.cancel(a);
    wheel.cancel(a);
    expect(wheel.size).toBe(1);
    run(wheel, T0, T0 + 100);
    expect(fired).toEqual([['b', T0 + 20]]);
    // Cancelling an entry that was never scheduled is a no-op too.
    wheel.cancel(entry('never'));
    expect(wheel.size).toBe(0);
  });

  it('reschedule moves an entry: it fires at the new time only', () => {
    const { wheel, fired } = setup();
    const a = entry('a');
    wheel.schedule(a, T0 + 20);
    wheel.schedule(a, T0 + 200);
    expect(wheel.size).toBe(1);
    run(wheel, T0, T0 + 190);
    expect(fired).toEqual([]);
    wheel.advance(T0 + 200);
    expect(fired).toEqual([['a', T0 + 200]]);
    // Moving earlier works as well.
    const b = entry('b');
    wheel.schedule(b, T0 + 900);
    wheel.schedule(b, T0 + 300);
    run(wheel, T0 + 200, T0 + 1_000);
    expect(fired).toEqual([
      ['a', T0 + 200],
      ['b', T0 + 300],
    ]);
  });

  it('entries more than one revolution out stay put until due', () => {
    const { wheel, fired } = setup();
    const far = [
      ['r1', T0 + REVOLUTION + 40],
      ['r2', T0 + 2 * REVOLUTION + 40],
      ['r3', T0 + 3 * REVOLUTION + 10 * TICK],
      // Same slot as 'near', two revolutions later.
      ['same-slot-far', T0 + 2 * REVOLUTION + 40],
    ] as const;
    wheel.schedule(entry('near'), T0 + 40);
    for (const [name, at] of far) wheel.schedule(entry(name), at);
    run(wheel, T0, T0 + 4 * REVOLUTION);
    expect(fired).toEqual([
      ['near', T0 + 40],
      ['r1', T0 + REVOLUTION + 40],
      ['same-slot-far', T0 + 2 * REVOLUTION + 40],
      ['r2', T0 + 2 * REVOLUTION + 40],
      ['r3', T0 + 3 * REVOLUTION + 10 * TICK],
    ]);
    expect(wheel.size).toBe(0);
  });

  it('fires many entries sharing one slot (same tick and tick + k revolutions)', () => {
    const { wheel, fired } = setup();
    const due = Array.from({ length: 200 }, (_, i) => entry(`due${i}`));
    const later = Array.from({ length: 50 }, (_, i) => entry(`later${i}`));
    for (const e of due) wheel.schedule(e, T0 + 50);
    for (const e of later) wheel.schedule(e, T0 + 50 + REVOLUTION);
    // Cancel a few from the middle, the head and the tail of the slot's list.
    wheel.cancel(due[0]!);
    wheel.cancel(due[100]!);
    wheel.cancel(due[199]!);
    expect(wheel.size).toBe(247);
    wheel.advance(T0 + 50);
    expect(fired).toHaveLength(197);
    expect(new Set(fired.map(([n]) => n)).size).toBe(197);
    expect(fired.map(([n]) => n)).not.toContain('due100');
    expect(wheel.size).toBe(50);
    run(wheel, T0 + 50, T0 + 50 + REVOLUTION);
    expect(fired).toHaveLength(247);
    expect(wheel.size).toBe(0);
  });

  it('size tracks schedule/cancel/fire and reaches 0 after everything fires', () => {
    const { wheel, fired } = setup();
    const es = Array.from({ length: 30 }, (_, i) => entry(`e${i}`));
    es.forEach((e, i) => {
      wheel.schedule(e, T0 + (i + 1) * 37 * TICK);
    });
    expect(wheel.size).toBe(30);
    wheel.schedule(es[0]!, T0 + 5 * TICK); // reschedule does not double-count
    expect(wheel.size).toBe(30);
    run(wheel, T0, T0 + 31 * 37 * TICK);
    expect(fired).toHaveLength(30);
    expect(wheel.size).toBe(0);
    for (const e of es) expect(e.wheelSlot).toBe(-1);
  });

  it('after a stall longer than a revolution, one advance fires everything due', () => {
    const { wheel, fired } = setup();
    for (let i = 0; i < 50; i++) wheel.schedule(entry(`e${i}`), T0 + i * 97 * TICK);
    wheel.schedule(entry('future'), T0 + 10 * REVOLUTION);
    wheel.advance(T0 + 5 * REVOLUTION);
    expect(fired).toHaveLength(50);
    expect(fired.every(([, now]) => now === T0 + 5 * REVOLUTION)).toBe(true);
    expect(wheel.size).toBe(1);
  });

  it('clear() empties the wheel, unlinks entries and stops the interval', () => {
    const { wheel, fired } = setup();
    const es = Array.from({ length: 10 }, (_, i) => entry(`e${i}`));
    for (const e of es) wheel.schedule(e, T0 + 100);
    expect(vi.getTimerCount()).toBe(1);
    wheel.clear();
    expect(wheel.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    for (const e of es) {
      expect(e.wheelSlot).toBe(-1);
      expect(e.wheelNext).toBeUndefined();
      expect(e.wheelPrev).toBeUndefined();
    }
    run(wheel, T0, T0 + 2 * REVOLUTION, 100);
    expect(fired).toEqual([]);
    // Cleared entries can be scheduled again.
    wheel.schedule(es[0]!, T0 + 2 * REVOLUTION + 100);
    expect(wheel.size).toBe(1);
    wheel.advance(T0 + 2 * REVOLUTION + 100);
    expect(fired).toEqual([['e0', T0 + 2 * REVOLUTION + 100]]);
  });

  it('runs one interval while busy, keeps it across cancels, and stops it after a second idle', () => {
    const { wheel, fired } = setup();
    expect(vi.getTimerCount()).toBe(0);
    const a = entry('a');
    wheel.schedule(a, T0 + 30);
    expect(vi.getTimerCount()).toBe(1);
    // Emptying and refilling the wheel, as every task does at low load, reuses the clock.
    wheel.cancel(a);
    wheel.schedule(a, T0 + 30);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(30);
    expect(fired).toEqual([['a', T0 + 30]]);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1_010);
    expect(vi.getTimerCount()).toBe(0);
    // And it starts again with the next entry.
    wheel.schedule(entry('b'), Date.now() + 20);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(30);
    expect(fired.map(([name]) => name)).toEqual(['a', 'b']);
  });

  describe('callbacks that touch other entries during one advance', () => {
    // advance() first collects every due entry (unlinking each: wheelSlot = -1), then fires
    // those still having wheelSlot < 0. So a callback that reschedules another due entry
    // suppresses it, but one that merely cancels it does not: cancel() is a no-op on an
    // entry that is already unlinked, and the entry fires anyway.

    it('rescheduling another due entry to the future suppresses it now; it fires later', () => {
      const a = entry('a');
      const b = entry('b');
      const { wheel, fired } = setup((e) => {
        if (e === a) wheel.schedule(b, T0 + 500);
      });
      wheel.schedule(a, T0 + 10);
      wheel.schedule(b, T0 + 20);
      wheel.advance(T0 + 30); // both due; a's slot is walked first
      expect(fired).toEqual([['a', T0 + 30]]);
      expect(wheel.size).toBe(1);
      run(wheel, T0 + 30, T0 + 490);
      expect(fired).toHaveLength(1);
      wheel.advance(T0 + 500);
      expect(fired).toEqual([
        ['a', T0 + 30],
        ['b', T0 + 500],
      ]);
    });

    it('cancelling another already-collected due entry does NOT stop it firing (actual semantics)', () => {
      const a = entry('a');
      const b = entry('b');
      const { wheel, fired } = setup((e) => {
        if (e === a) wheel.cancel(b);
      });
      wheel.schedule(a, T0 + 10);
      wheel.schedule(b, T0 + 20);
      wheel.advance(T0 + 30);
      expect(fired).toEqual([
        ['a', T0 + 30],
        ['b', T0 + 30],
      ]);
      expect(wheel.size).toBe(0);
    });

    it('cancelling a not-yet-due entry from a callback works', () => {
      const a = entry('a');
      const b = entry('b');
      const { wheel, fired } = setup((e) => {
        if (e === a) wheel.cancel(b);
      });
      wheel.schedule(a, T0 + 10);
      wheel.schedule(b, T0 + 100);
      run(wheel, T0, T0 + 200);
      expect(fired).toEqual([['a', T0 + 10]]);
      expect(wheel.size).toBe(0);
    });

    it('a callback may reschedule its own entry (periodic timer)', () => {
      const a = entry('a');
      let count = 0;
      const { wheel, fired } = setup((e, now) => {
        if (++count < 5) wheel.schedule(e, now + 100);
      });
      wheel.schedule(a, T0 + 100);
      run(wheel, T0, T0 + 1_000);
      expect(fired.map(([, now]) => now)).toEqual([100, 200, 300, 400, 500].map((d) => T0 + d));
      expect(wheel.size).toBe(0);
    });

    it('the walk survives a callback scheduling into the slot being fired', () => {
      const es = Array.from({ length: 5 }, (_, i) => entry(`e${i}`));
      const extra = entry('extra');
      const { wheel, fired } = setup((e) => {
        if (e === es[2]) wheel.schedule(extra, T0 + 50 + REVOLUTION);
      });
      for (const e of es) wheel.schedule(e, T0 + 50);
      wheel.advance(T0 + 50);
      expect(fired).toHaveLength(5);
      expect(wheel.size).toBe(1);
      run(wheel, T0 + 50, T0 + 50 + REVOLUTION);
      expect(fired).toHaveLength(6);
      expect(fired[5]).toEqual(['extra', T0 + 50 + REVOLUTION]);
    });
  });

  describe('entries due later within an already-visited tick', () => {
    // advance(now) fires only entries with wakeAt <= now, so the tick of `now` must be
    // visited again; and an entry scheduled into a visited tick must not wait a revolution.

    it('fires an entry due later in the tick of the previous advance on the next advance', () => {
      const { wheel, fired } = setup();
      wheel.schedule(entry('a'), T0 + 27); // tick T0/10 + 2
      wheel.advance(T0 + 25); // same tick, not yet due
      wheel.advance(T0 + 35); // next tick: a is overdue
      expect(fired).toEqual([['a', T0 + 35]]);
    });

    it('the real interval fires an unaligned deadline within one tick of it', () => {
      const { wheel, fired } = setup();
      wheel.schedule(entry('a'), T0 + 27);
      vi.advanceTimersByTime(40);
      expect(fired).toEqual([['a', T0 + 30]]);
    });

    it('fires an entry scheduled for "now" (an already-visited tick) on the next advance', () => {
      const { wheel, fired } = setup();
      wheel.schedule(entry('keepalive'), T0 + REVOLUTION * 5);
      wheel.advance(T0 + 100);
      wheel.schedule(entry('a'), T0 + 100); // e.g. a zero retry backoff
      wheel.advance(T0 + 110);
      expect(fired).toEqual([['a', T0 + 110]]);
    });
  });
});
