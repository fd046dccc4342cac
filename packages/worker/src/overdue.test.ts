import { describe, expect, it } from 'vitest';
import { OverdueSlots } from './overdue.js';

describe('OverdueSlots', () => {
  function setup() {
    const lines: string[] = [];
    const counts: number[] = [];
    const slots = new OverdueSlots(
      4,
      { info() {}, warn: (line) => void lines.push(line), error() {} },
      (count) => void counts.push(count),
    );
    return { slots, lines, counts };
  }

  it('reports each new count, and names the handlers holding slots', () => {
    const { slots, lines, counts } = setup();
    slots.update(undefined, 0);
    expect(counts).toEqual([]);
    slots.update(['hang', 'hang', 'poll'], 1_000);
    expect(slots.count).toBe(3);
    expect(counts).toEqual([3]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('3 of 4 slot(s) held past their task');
    expect(lines[0]).toContain('"hang" x2, "poll" x1');
    slots.update(undefined, 2_000);
    expect(counts).toEqual([3, 0]);
  });

  it('warns at most once per 10 s while slots stay stuck', () => {
    const { slots, lines } = setup();
    for (let now = 0; now < 25_000; now += 50) slots.update(['hang'], now);
    expect(lines).toHaveLength(3);
  });

  it('survives a logger that throws', () => {
    const slots = new OverdueSlots(
      1,
      {
        info() {},
        warn() {
          throw new Error('broken');
        },
        error() {},
      },
      () => undefined,
    );
    expect(() => slots.update(['x'], 0)).not.toThrow();
  });
});
