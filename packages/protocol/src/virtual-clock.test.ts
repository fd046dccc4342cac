import { describe, expect, it } from 'vitest';
import { VirtualClock } from './virtual-clock.js';

describe('VirtualClock', () => {
  it('runs timers in due order, same-time ones in scheduling order, and moves time only when told', async () => {
    const clock = new VirtualClock(1_000);
    const seen: string[] = [];
    clock.setTimeout(() => seen.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => seen.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => seen.push(`c@${clock.now()}`), 20);
    expect(clock.now()).toBe(1_000);
    await clock.advance(15);
    expect(seen).toEqual(['a@1010']);
    expect(clock.now()).toBe(1_015);
    await clock.advance(100);
    expect(seen).toEqual(['a@1010', 'b@1020', 'c@1020']);
    expect(clock.now()).toBe(1_115);
  });

  it('repeats intervals until cleared, and ignores cleared timers', async () => {
    const clock = new VirtualClock(0);
    let ticks = 0;
    const interval = clock.setInterval(() => {
      ticks++;
      if (ticks === 3) clock.clearTimer(interval);
    }, 10);
    const never = clock.setTimeout(() => {
      throw new Error('cleared timers never run');
    }, 5);
    clock.clearTimer(never);
    await clock.advance(1_000);
    expect(ticks).toBe(3);
    expect(clock.pending).toBe(0);
  });

  it('runs immediates before later timers, and the promise continuations of each event before the next', async () => {
    const clock = new VirtualClock(0);
    const seen: string[] = [];
    clock.setTimeout(() => seen.push('timer'), 0);
    clock.setImmediate(() => {
      seen.push('immediate');
      void Promise.resolve()
        .then(() => undefined)
        .then(() => seen.push('continuation'));
    });
    await clock.advance(0);
    expect(seen).toEqual(['immediate', 'continuation', 'timer']);
  });

  it('rethrows what an event threw, after running the events due before it', async () => {
    const clock = new VirtualClock(0);
    clock.setTimeout(() => {
      throw new Error('boom');
    }, 10);
    await expect(clock.advance(20)).rejects.toThrow('boom');
  });

  it('stops early when told', async () => {
    const clock = new VirtualClock(0);
    let n = 0;
    clock.setInterval(() => n++, 10);
    await clock.runUntil(1_000, () => n >= 4);
    expect(n).toBe(4);
    expect(clock.now()).toBe(40);
  });
});
