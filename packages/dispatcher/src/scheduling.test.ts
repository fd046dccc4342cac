import { ErrorCode } from '@ringcast/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, outcome, setup } from './testing/core-fixture.js';

afterEach(closeAll);

/** A dispatcher and one worker with room for one task at a time, which holds each until finished by hand. */
async function oneSlot(options = {}) {
  const fixture = setup(options);
  const w = fixture.worker('w1', () => 'ack', { concurrency: 1 });
  await fixture.join(w);
  await fixture.start();
  return { ...fixture, w };
}

describe('priorities in the local queue', () => {
  it('sends queued tasks highest priority first, oldest first within a priority', async () => {
    const { clock, dispatcher, w } = await oneSlot();
    const results = [
      outcome(dispatcher.dispatch('echo', 'first')),
      outcome(dispatcher.dispatch('echo', 'low', { priority: -5 })),
      outcome(dispatcher.dispatch('echo', 'default-a')),
      outcome(dispatcher.dispatch('echo', 'high-a', { priority: 5 })),
      outcome(dispatcher.dispatch('echo', 'default-b', { priority: 0 })),
      outcome(dispatcher.dispatch('echo', 'high-b', { priority: 5 })),
      outcome(dispatcher.dispatch('echo', 'top', { priority: 1000 })),
    ];
    await clock.advance(0);
    expect(dispatcher.stats()).toMatchObject({ queued: 6, inflight: 1 });
    for (let i = 0; i < results.length; i++) {
      const task = w.received[i]!;
      void w.finish(task, task.payload);
      await clock.advance(0);
    }
    expect(w.received.map((t) => t.payload)).toEqual([
      'first',
      'top',
      'high-a',
      'high-b',
      'default-a',
      'default-b',
      'low',
    ]);
    expect(results.every((r) => r.settled && r.error === undefined)).toBe(true);
  });
});

describe('delayed tasks', () => {
  it('sends a task no earlier than its delay, and counts its timeout from when it is due', async () => {
    const { clock, dispatcher, w } = await oneSlot();
    const result = outcome(
      dispatcher.dispatch('echo', 'later', { delayMs: 1_000, timeoutMs: 500 }),
    );
    await clock.advance(990);
    expect(w.received).toEqual([]);
    expect(dispatcher.stats()).toMatchObject({ delayed: 1, queued: 0, inflight: 0, dispatched: 1 });
    await clock.advance(20);
    expect(w.received.map((t) => t.payload)).toEqual(['later']);
    expect(dispatcher.stats()).toMatchObject({ delayed: 0, inflight: 1 });
    // Past 500 ms from the dispatch, but not from the due time: no timeout yet.
    void w.finish(w.received[0]!, 'done');
    await clock.advance(0);
    expect(result).toEqual({ settled: true, value: 'done' });
  });

  it('runAt: a time in the future waits for it; one in the past goes now', async () => {
    const { clock, dispatcher, w } = await oneSlot();
    void dispatcher.dispatch('echo', 'at', { runAt: clock.now() + 300 });
    void dispatcher.dispatch('echo', 'past', { runAt: clock.now() - 300 });
    await clock.advance(0);
    expect(w.received.map((t) => t.payload)).toEqual(['past']);
    void w.finish(w.received[0]!, 0);
    await clock.advance(310);
    expect(w.received.map((t) => t.payload)).toEqual(['past', 'at']);
    void w.finish(w.received[1]!, 0);
    await clock.advance(0);
  });

  it('a due task queues behind the waiting ones when every worker is busy, and times out from its due time', async () => {
    const { clock, dispatcher, w } = await oneSlot();
    void dispatcher.dispatch('echo', 'busy');
    const later = outcome(dispatcher.dispatch('echo', 'later', { delayMs: 100, timeoutMs: 400 }));
    await clock.advance(110);
    expect(dispatcher.stats()).toMatchObject({ queued: 1, delayed: 0 });
    await clock.advance(300);
    expect(later.settled).toBe(false);
    await clock.advance(110);
    expect(later.error?.code).toBe(ErrorCode.TIMEOUT);
    void w.finish(w.received[0]!, 0);
    await clock.advance(0);
  });

  it('an aborted signal or close() settles a delayed task at once, and it leaves the delayed count', async () => {
    const { clock, dispatcher, w } = await oneSlot();
    const controller = new AbortController();
    const aborted = outcome(
      dispatcher.dispatch('echo', 'x', { delayMs: 5_000, signal: controller.signal }),
    );
    const closed = outcome(dispatcher.dispatch('echo', 'y', { delayMs: 5_000 }));
    await clock.advance(10);
    controller.abort();
    await clock.advance(0);
    expect(aborted.error?.code).toBe(ErrorCode.CANCELLED);
    expect(dispatcher.stats().delayed).toBe(1);
    const closing = dispatcher.close();
    await clock.advance(2_000);
    await closing;
    expect(closed.error?.code).toBe(ErrorCode.CLOSED);
    expect(dispatcher.stats()).toMatchObject({ delayed: 0, inflight: 0, queued: 0 });
    expect(w.received).toEqual([]);
  });

  it('counts delayed tasks against maxQueued', async () => {
    const { clock, dispatcher } = await oneSlot({ maxQueued: 2 });
    void dispatcher.dispatch('echo', 'a', { delayMs: 1_000 }).catch(() => undefined);
    void dispatcher.dispatch('echo', 'b', { delayMs: 1_000 }).catch(() => undefined);
    const refused = outcome(dispatcher.dispatch('echo', 'c', { delayMs: 1_000 }));
    await clock.advance(0);
    expect(refused.error?.code).toBe(ErrorCode.QUEUE_FULL);
    expect(dispatcher.stats()).toMatchObject({ delayed: 2, rejected: { QUEUE_FULL: 1 } });
  });
});
