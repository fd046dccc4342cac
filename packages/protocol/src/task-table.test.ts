import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TaskTable } from './task-table.js';

interface Entry {
  readonly seq: number;
  readonly name: string;
}

const entry = (seq: number): Entry => ({ seq, name: `task-${seq}` });

/** Tables keyed by a sequence number, hashed as itself: the dispatcher's use. */
const bySeq = () => new TaskTable<Entry, number>((e) => e.seq);

describe('TaskTable', () => {
  it('finds what was added until it is deleted', () => {
    const table = bySeq();
    const a = entry(1);
    const b = entry(2);
    table.add(a, a.seq);
    table.add(b, b.seq);
    expect(table.size).toBe(2);
    expect(table.get(1, 1)).toBe(a);
    expect(table.get(2, 2)).toBe(b);
    expect(table.get(3, 3)).toBeUndefined();
    expect(table.delete(a, a.seq)).toBe(true);
    expect(table.delete(a, a.seq)).toBe(false);
    expect(table.get(1, 1)).toBeUndefined();
    expect(table.get(2, 2)).toBe(b);
    expect(table.size).toBe(1);
  });

  it('keeps entries that share a hash apart, and finds each after a delete between them', () => {
    const table = bySeq();
    const [a, b, c] = [entry(5), entry(69), entry(133)];
    for (const e of [a, b, c]) table.add(e, 7);
    expect(table.delete(b, 7)).toBe(true);
    expect(table.get(5, 7)).toBe(a);
    expect(table.get(133, 7)).toBe(c);
    expect(table.get(69, 7)).toBeUndefined();
    expect(table.delete(a, 7)).toBe(true);
    expect(table.get(133, 7)).toBe(c);
  });

  it('wraps its probes around the end of the table', () => {
    // 64 slots at first; hash 47 lands in the last one.
    const table = bySeq();
    const entries = [1, 2, 3, 4, 5, 6].map(entry);
    for (const e of entries) table.add(e, 47);
    for (const e of entries) expect(table.get(e.seq, 47)).toBe(e);
    expect(table.delete(entries[0]!, 47)).toBe(true);
    for (const e of entries.slice(1)) expect(table.get(e.seq, 47)).toBe(e);
  });

  it('keeps probe runs short for consecutive numbers used as their own hash', () => {
    // A dispatcher's window of tasks in flight. Unspread, they would form one run
    // as long as the window, walked by every delete and every miss.
    const table = bySeq();
    for (let seq = 0; seq < 20_000; seq++) {
      table.add(entry(seq), seq);
      if (seq >= 1000) table.delete(table.get(seq - 1000, seq - 1000)!, seq - 1000);
    }
    expect(table.size).toBe(1000);
    expect(table.longestRun()).toBeLessThan(40);
  });

  it('measures its longest run, including one that wraps around the end', () => {
    const table = bySeq();
    expect(table.longestRun()).toBe(0);
    // Hash 47 starts in the last of the 64 slots: a run of 3 across the end.
    for (const seq of [1, 2, 3]) table.add(entry(seq), 47);
    expect(table.longestRun()).toBe(3);
  });

  it('grows with its entries and shrinks back when they go', () => {
    const table = bySeq();
    const many = Array.from({ length: 10_000 }, (_, i) => entry(i * 7));
    for (const e of many) table.add(e, e.seq);
    expect(table.size).toBe(10_000);
    for (const e of many) expect(table.get(e.seq, e.seq)).toBe(e);
    for (const e of many.slice(0, 9_990)) table.delete(e, e.seq);
    expect(table.size).toBe(10);
    expect(table.values().sort((x, y) => x.seq - y.seq)).toEqual(many.slice(9_990));
  });

  it('takes numbers past 2^32 and answers absent for any number it does not hold', () => {
    const table = bySeq();
    const big = entry(2 ** 40 + 3);
    table.add(big, big.seq);
    expect(table.get(2 ** 40 + 3, 2 ** 40 + 3)).toBe(big);
    for (const seq of [3, -1, 0.5, Number.NaN, 2 ** 53])
      expect(table.get(seq, seq)).toBeUndefined();
  });

  it('tells apart string keys whose hashes collide', () => {
    interface Attempt {
      readonly token: string;
    }
    // A poor hash on purpose: every key of one length shares a probe run.
    const table = new TaskTable<Attempt, string>((a) => a.token);
    const weak = (token: string) => token.length;
    const attempts = ['a.1', 'b.1', 'c.1', 'dd.1', 'e.1'].map((token) => ({ token }));
    for (const a of attempts) table.add(a, weak(a.token));
    for (const a of attempts) expect(table.get(a.token, weak(a.token))).toBe(a);
    expect(table.get('z.1', 3)).toBeUndefined();
    expect(table.delete(attempts[1]!, 3)).toBe(true);
    expect(table.get('b.1', 3)).toBeUndefined();
    for (const a of [attempts[0]!, ...attempts.slice(2)]) {
      expect(table.get(a.token, weak(a.token))).toBe(a);
    }
  });

  it('agrees with a Map under any mix of adds and deletes', () => {
    const op = fc.oneof(
      fc.record({ add: fc.integer({ min: 0, max: 400 }) }),
      fc.record({ remove: fc.integer({ min: 0, max: 400 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
        const table = bySeq();
        const model = new Map<number, Entry>();
        for (const o of ops) {
          if ('add' in o) {
            if (model.has(o.add)) continue;
            const e = entry(o.add);
            table.add(e, e.seq);
            model.set(o.add, e);
          } else {
            const e = model.get(o.remove) ?? entry(o.remove);
            expect(table.delete(e, e.seq)).toBe(model.delete(o.remove));
          }
          expect(table.size).toBe(model.size);
        }
        for (let seq = 0; seq <= 400; seq++) expect(table.get(seq, seq)).toBe(model.get(seq));
        expect(new Set(table.values())).toEqual(new Set(model.values()));
      }),
      { numRuns: 200 },
    );
  });
});
