import { describe, expect, it } from 'vitest';
import { ProcessClock } from './process-clock.js';
import { VirtualClock } from './virtual-clock.js';

describe('ProcessClock', () => {
  it('holds everything of a frozen process and runs it in arrival order at the thaw, an interval once', async () => {
    const base = new VirtualClock(0);
    const clock = new ProcessClock(base);
    const ran: string[] = [];
    const interval = clock.setInterval(() => ran.push(`tick ${base.now()}`), 100);
    clock.freeze(1_000);
    clock.setTimeout(() => ran.push(`timeout ${base.now()}`), 200);
    clock.setImmediate(() => ran.push(`immediate ${base.now()}`));
    clock.run(() => ran.push(`reply ${base.now()}`));
    expect(clock.frozen).toBe(true);
    await base.advance(500);
    expect(ran).toEqual([]);
    expect(clock.frozenMs).toBe(500);
    await base.advance(500);
    expect(ran).toEqual(['reply 1000', 'immediate 1000', 'tick 1000', 'timeout 1000']);
    expect(clock.frozenMs).toBe(0);
    await base.advance(100);
    expect(ran.at(-1)).toBe('tick 1100');
    clock.clearTimer(interval);
  });

  it('a thread shares the reading and the death, not the freeze; thaw() ends a freeze early', async () => {
    const base = new VirtualClock(0);
    const clock = new ProcessClock(base);
    const thread = clock.thread();
    clock.skew = 250;
    expect(thread.now()).toBe(250);
    const beats: number[] = [];
    thread.setInterval(() => beats.push(base.now()), 100);
    clock.freeze(10_000);
    await base.advance(300);
    expect(beats).toEqual([100, 200, 300]);
    let ran = false;
    clock.run(() => {
      ran = true;
    });
    clock.thaw();
    expect(ran).toBe(true);
    clock.kill();
    expect(thread.dead).toBe(true);
    await base.advance(300);
    expect(beats).toHaveLength(3);
    expect(clock.timers).toBe(0);
  });

  it('a dead process runs nothing it held', async () => {
    const base = new VirtualClock(0);
    const clock = new ProcessClock(base);
    let ran = 0;
    clock.freeze(100);
    clock.run(() => ran++);
    clock.setTimeout(() => ran++, 10);
    clock.kill();
    await base.advance(200);
    expect(ran).toBe(0);
  });

  it('a timeout cleared while the process is frozen does not run at the thaw (as in Node)', async () => {
    const base = new VirtualClock(0);
    const clock = new ProcessClock(base);
    const fired: string[] = [];
    // Both come due while frozen; the first, run at the thaw, clears the second.
    const second = { timer: undefined as ReturnType<ProcessClock['setTimeout']> | undefined };
    clock.setTimeout(() => {
      fired.push('first');
      clock.clearTimer(second.timer);
    }, 10);
    second.timer = clock.setTimeout(() => fired.push('second'), 20);
    clock.freeze(100);
    await base.advance(150);
    expect(fired).toEqual(['first']);
    expect(clock.timers).toBe(0);
  });
});
