import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, outcome, setup } from './testing/core-fixture.js';

afterEach(closeAll);

describe('recovery after resubscribe on the memory transport', () => {
  it('collects a reply parked while its subscriber connection was down', async () => {
    const { clock, transport, dispatcher, worker, join, start } = setup();
    const w = worker('w1', () => 'ack');
    await join(w);
    await start();
    const result = outcome(dispatcher.dispatch('echo', 'x'));
    await clock.advance(0);
    transport.subscriber!.drop();
    void w.finish(w.received[0]!, 'parked result');
    await clock.advance(0);
    expect(result.settled).toBe(false);
    transport.subscriber!.restore();
    await clock.advance(0);
    expect(result).toEqual({ settled: true, value: 'parked result' });
    expect(dispatcher.stats()).toMatchObject({ recoveredReplies: 1, redelivered: 0 });
    // Settled from the parked reply: the attempt was not re-sent.
    expect(w.received).toHaveLength(1);
  });

  it('re-sends the open attempt after a reply was lost in flight; the worker answers from its record', async () => {
    const { clock, redis, transport, dispatcher, worker, join, start } = setup();
    const w = worker('w1', () => 'ack');
    await join(w);
    await start();
    const result = outcome(dispatcher.dispatch('echo', 'x'));
    await clock.advance(0);
    void w.finish(w.received[0]!, 'answer');
    await clock.advance(0);
    expect(result.settled).toBe(true);
    const second = outcome(dispatcher.dispatch('echo', 'y'));
    await clock.advance(0);
    const task = w.received[1]!;
    // Redis counts the dispatcher as a receiver, then the connection is cut before delivery.
    void w.finish(task, 'lost').then(() => transport.subscriber!.drop());
    await clock.advance(0);
    expect(redis.counters.lostMessages).toBe(1);
    expect(second.settled).toBe(false);
    transport.subscriber!.restore();
    await clock.advance(0);
    expect(second).toEqual({ settled: true, value: 'lost' });
    // The same attempt, sent again with its own token: not a new run.
    expect(w.received.slice(1).map((t) => t.token)).toEqual([task.token, task.token]);
    expect(dispatcher.stats()).toMatchObject({ redelivered: 0, recoveredReplies: 0 });
  });
});
