import { describe, expect, it } from 'vitest';
import { Slots } from './slots.js';

describe('Slots', () => {
  it('starts jobs at once while slots are free, then in FIFO order as they free', () => {
    const started: number[] = [];
    const slots = new Slots<number>(2, (job) => started.push(job));
    for (const job of [1, 2, 3, 4]) slots.run(job);
    expect(started).toEqual([1, 2]);
    expect(slots.active).toBe(2);
    expect(slots.waiting).toBe(2);
    slots.release();
    expect(started).toEqual([1, 2, 3]);
    slots.release();
    slots.release();
    expect(started).toEqual([1, 2, 3, 4]);
    slots.release();
    expect(slots.active).toBe(0);
    expect(slots.waiting).toBe(0);
  });

  it('runs jobs that finish synchronously one after another without recursing', () => {
    let running = 0;
    let most = 0;
    let done = 0;
    const slots: Slots<number> = new Slots<number>(1, () => {
      running++;
      most = Math.max(most, running);
      running--;
      done++;
      slots.release();
    });
    // Deep enough that one stack frame per job would overflow.
    for (let i = 0; i < 200_000; i++) slots.run(i);
    expect(done).toBe(200_000);
    expect(most).toBe(1);
    expect(slots.active).toBe(0);
  });

  it('never holds more than its concurrency, whatever order jobs finish in', async () => {
    let running = 0;
    let most = 0;
    let finished = 0;
    let allDone!: () => void;
    const done = new Promise<void>((resolve) => {
      allDone = resolve;
    });
    const slots: Slots<number> = new Slots<number>(3, (ms) => {
      running++;
      most = Math.max(most, running);
      setTimeout(() => {
        running--;
        slots.release();
        if (++finished === 30) allDone();
      }, ms);
    });
    for (let i = 0; i < 30; i++) slots.run(i % 4);
    await done;
    expect(most).toBe(3);
    expect(running).toBe(0);
    expect(slots.waiting).toBe(0);
  });
});
