/**
 * The dispatcher core routes through the strategy it was made with: a task's
 * `key` reaches it, attempts starting and ending reach it (loadChanged), and
 * round trips reach it (observe). On the in-memory transport, fake workers.
 */
import { ErrorCode, type TaskMessage } from '@ringcast/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, type FakeWorker, outcome, setup } from './testing/core-fixture.js';

afterEach(closeAll);

/** Which worker each received task went to, by its payload's `i`. */
function receivers(workers: readonly FakeWorker[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const w of workers) {
    for (const t of w.received) out.set((t.payload as { i: number }).i, w.info.id);
  }
  return out;
}

describe('the dispatcher core with a chosen strategy', () => {
  it('consistent-hash: tasks with the same key go to the same worker', async () => {
    const { clock, dispatcher, worker, join, start } = setup({ strategy: 'consistent-hash' });
    const workers = ['a', 'b', 'c'].map((id) => worker(id, (t) => ({ ok: t.payload })));
    for (const w of workers) await join(w);
    await start();
    const results = [];
    for (let i = 0; i < 90; i++) {
      results.push(outcome(dispatcher.dispatch('echo', { i }, { key: `user-${i % 9}` })));
      await clock.advance(0);
    }
    expect(results.every((r) => r.settled && r.error === undefined)).toBe(true);
    const byTask = receivers(workers);
    for (let k = 0; k < 9; k++) {
      const owners = new Set([...byTask].filter(([i]) => i % 9 === k).map(([, w]) => w));
      expect(owners.size).toBe(1);
    }
    // Nine keys over three workers: more than one worker is used.
    expect(new Set(byTask.values()).size).toBeGreaterThan(1);
  });

  it('consistent-hash: a hot key spills past its worker’s bound, counting attempts as they start and end', async () => {
    const { clock, dispatcher, worker, join, start } = setup({ strategy: 'consistent-hash' });
    const a = worker('a', () => 'ack', { concurrency: 100 });
    const b = worker('b', () => 'ack', { concurrency: 100 });
    await join(a);
    await join(b);
    await start();
    const finished = new Set<string>();
    for (let round = 0; round < 2; round++) {
      const pending = [];
      for (let i = 0; i < 40; i++) pending.push(dispatcher.dispatch('echo', { i }, { key: 'hot' }));
      await clock.advance(0);
      const held = [a, b].map((w) => w.received.filter((t) => !finished.has(t.token)).length);
      // ⌈1.25 × 40 × ½⌉ = 25 at most on the key's worker; the rest on the other.
      expect(Math.max(...held)).toBeLessThanOrEqual(25);
      expect(Math.max(...held)).toBeGreaterThanOrEqual(24);
      expect(held[0]! + held[1]!).toBe(40);
      // Everything finishes: the count of attempts in flight falls back to 0 …
      for (const w of [a, b]) {
        for (const t of w.received) {
          if (finished.has(t.token)) continue;
          finished.add(t.token);
          void w.finish(t, null);
        }
      }
      await clock.advance(0);
      await Promise.all(pending);
      // … so the next round splits the same way.
    }
  });

  it('least-inflight: a worker whose slots are held gets nothing while another is idle', async () => {
    const { clock, dispatcher, worker, join, start } = setup({ strategy: 'least-inflight' });
    const holder = worker('holder', () => 'ack', { concurrency: 8 });
    const quick = worker('quick', (t) => ({ ok: t.payload }), { concurrency: 8 });
    await join(holder);
    await join(quick);
    await start();
    const held = [];
    for (let i = 0; i < 3; i++) {
      held.push(outcome(dispatcher.dispatch('echo', { i })));
      await clock.advance(0);
    }
    // The first tie went one way; after it, the holder holds one or more and the quick one none.
    const before = holder.received.length;
    for (let i = 3; i < 43; i++) {
      const r = outcome(dispatcher.dispatch('echo', { i }));
      await clock.advance(0);
      expect(r.settled).toBe(true);
    }
    expect(holder.received.length).toBe(before);
    expect(quick.received.length).toBe(43 - before);
    for (const t of holder.received) void holder.finish(t, null);
    await clock.advance(0);
    expect(held.every((r) => r.settled)).toBe(true);
  });

  it('latency: a worker whose results come back slowly gets a smaller share', async () => {
    const { clock, dispatcher, worker, join, start } = setup({ strategy: 'latency' });
    const slow = worker('slow', () => 'ack');
    const fast = worker('fast', () => 'ack');
    await join(slow);
    await join(fast);
    await start();
    const picks: string[] = [];
    for (let i = 0; i < 300; i++) {
      const r = outcome(dispatcher.dispatch('echo', { i }));
      await clock.advance(0);
      const w = whoGot(slow, fast, i);
      picks.push(w);
      const who = w === 'slow' ? slow : fast;
      await clock.advance(w === 'slow' ? 50 : 5);
      void who.finish(who.received.at(-1)!, null);
      await clock.advance(0);
      expect(r.settled).toBe(true);
    }
    const late = picks.slice(100);
    const slowShare = late.filter((w) => w === 'slow').length / late.length;
    // Round trips of 50 ms against 5: a share near 1/11, where weights alone would give a half.
    expect(slowShare).toBeGreaterThan(0.04);
    expect(slowShare).toBeLessThan(0.16);
  });

  it('refuses a bad key at once, with INVALID_OPTIONS and nothing sent', async () => {
    const { clock, dispatcher, worker, join, start } = setup({ strategy: 'consistent-hash' });
    const w = worker('a', (t) => ({ ok: t.payload }));
    await join(w);
    await start();
    for (const key of [42, '', 'k'.repeat(513), { id: 1 }]) {
      const r = outcome(dispatcher.dispatch('echo', 1, { key: key as never }));
      await clock.advance(0);
      expect(r.error?.code).toBe(ErrorCode.INVALID_OPTIONS);
      expect(r.error?.message).toMatch(/key must be a string of 1 to 512 characters/);
    }
    expect(w.received).toHaveLength(0);
    expect(dispatcher.stats().rejected).toEqual({ [ErrorCode.INVALID_OPTIONS]: 4 });
  });

  it('on a BUSY nack, sends the attempt to another worker, for every strategy', async () => {
    for (const strategy of [
      'weighted-round-robin',
      'round-robin',
      'random',
      'least-inflight',
      'power-of-two',
      'consistent-hash',
      'latency',
    ] as const) {
      const { clock, dispatcher, worker, join, start } = setup({ strategy });
      const busy = worker('busy', () => ({ nack: 'BUSY' }));
      const free = worker('free', (t) => ({ ok: t.payload }));
      await join(busy);
      await join(free);
      await start();
      for (let i = 0; i < 10; i++) {
        const r = outcome(dispatcher.dispatch('echo', i, { key: `k${i}` }));
        await clock.advance(30);
        expect(r, strategy).toEqual({ settled: true, value: i });
      }
      await closeAll();
    }
  });
});

/** Which of the two received task `i`. */
function whoGot(slow: FakeWorker, fast: FakeWorker, i: number): string {
  const has = (w: FakeWorker) =>
    w.received.some((t: TaskMessage) => (t.payload as { i: number }).i === i);
  return has(slow) ? 'slow' : has(fast) ? 'fast' : '';
}
