import { describe, expect, it } from 'vitest';
import { HISTORY_INTERVAL_MS, HISTORY_SPAN_MS, History } from './history.js';

const sample = (at: number) => ({
  at,
  tasksPerSecond: at,
  errorsPerSecond: 0,
  executionP50Ms: null,
  executionP99Ms: null,
});

describe('History', () => {
  it('keeps fifteen minutes of one-second samples, oldest first, dropping the oldest past that', () => {
    const history = new History();
    const capacity = HISTORY_SPAN_MS / HISTORY_INTERVAL_MS;
    for (let i = 1; i <= capacity + 5; i++) history.push(sample(i));
    const read = history.read();
    expect(read).toMatchObject({ intervalMs: 1_000, spanMs: 900_000 });
    expect(read.samples).toHaveLength(capacity);
    expect(read.samples[0]?.at).toBe(6);
    expect(read.samples.at(-1)?.at).toBe(capacity + 5);
  });

  it('hands out a copy: a reader cannot change what it keeps', () => {
    const history = new History(3);
    history.push(sample(1));
    history.read().samples.pop();
    expect(history.read().samples).toHaveLength(1);
  });
});
