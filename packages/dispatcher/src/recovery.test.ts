import { ErrorCode, NackReason, type VirtualClock } from '@ringcast/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, n, outcome, setup } from './testing/core-fixture.js';

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

  it('names the incarnation that had the attempt; a restarted worker refusing it (WORKER_LOST) spends the attempt', async () => {
    const { clock, transport, dispatcher, worker, join, start } = setup({ maxAttempts: 2 });
    // w1 acks the first send; the re-send reaches a process that has no record of it.
    const w1 = worker('w1', (task) =>
      task.incarnation === undefined ? 'ack' : { nack: NackReason.WORKER_LOST },
    );
    const w2 = worker('w2', () => ({ ok: 'from w2' }), { weight: 1 });
    await join(w1);
    await start();
    const result = outcome(dispatcher.dispatch('echo', 'x'));
    await clock.advance(0);
    await join(w2);
    await clock.advance(250);
    transport.subscriber!.drop();
    transport.subscriber!.restore();
    await clock.advance(0);
    expect(w1.received.map((t) => [t.token, t.incarnation])).toEqual([
      [w1.received[0]!.token, undefined],
      [w1.received[0]!.token, 'inc-w1'],
    ]);
    // The refused attempt counts as spent: the second and last goes to w2.
    expect(result).toEqual({ settled: true, value: 'from w2' });
    expect(w2.received.map((t) => t.attempt)).toEqual([2]);
  });

  it('fails WORKER_LOST when the refused re-send was the last attempt', async () => {
    const { clock, transport, dispatcher, worker, join, start } = setup({ maxAttempts: 1 });
    const w1 = worker('w1', (task) =>
      task.incarnation === undefined ? 'ack' : { nack: NackReason.WORKER_LOST },
    );
    await join(w1);
    await start();
    const result = outcome(dispatcher.dispatch('echo', 'x'));
    await clock.advance(0);
    transport.subscriber!.drop();
    transport.subscriber!.restore();
    await clock.advance(0);
    expect(result.settled).toBe(true);
    expect(result.error?.code).toBe(ErrorCode.WORKER_LOST);
    expect(w1.received).toHaveLength(2);
  });

  it('a worker that leaves before answering a re-send keeps the attempt it acknowledged: no second run beyond maxAttempts', async () => {
    const { clock, transport, dispatcher, worker, join, start } = setup({
      maxAttempts: 1,
      leaveGraceMs: 1_000,
    });
    // w1 acks the first send and is still running it; the re-send gets no answer before it leaves.
    const w1 = worker('w1', (task) => (task.incarnation === undefined ? 'ack' : 'silent'));
    const w2 = worker('w2', () => ({ ok: 'from w2' }));
    await join(w1);
    await start();
    const result = outcome(dispatcher.dispatch('echo', 'x'));
    await clock.advance(0);
    await join(w2);
    await clock.advance(250);
    transport.subscriber!.drop();
    transport.subscriber!.restore();
    await clock.advance(0);
    expect(w1.received).toHaveLength(2);
    void w1.leave();
    await clock.advance(0);
    // Not sent elsewhere as if it had never run: w1 is finishing it.
    expect(w2.received).toEqual([]);
    void w1.finish(w1.received[0]!, 'from w1');
    await clock.advance(0);
    expect(result).toEqual({ settled: true, value: 'from w1' });
    expect(w2.received).toEqual([]);
  });

  /** A leaving worker removes its own heartbeat and registry entry: the next reconcile finds it gone. */
  async function leaveForGood(
    w: ReturnType<ReturnType<typeof setup>['worker']>,
    clock: VirtualClock,
  ) {
    void w.leave();
    const removed = w.command.command((r) => {
      r.del([n.heartbeatKey(w.info.id)]);
      r.hdel(n.registryKey, [w.info.id]);
    });
    await clock.advance(0);
    await removed;
    await clock.advance(300);
  }

  it('keeps a re-sent attempt a leaving worker acknowledged for the grace period after its heartbeat goes', async () => {
    const { clock, transport, dispatcher, worker, join, start } = setup({
      maxAttempts: 2,
      leaveGraceMs: 5_000,
    });
    const w1 = worker('w1', (task) => (task.incarnation === undefined ? 'ack' : 'silent'));
    const w2 = worker('w2', () => ({ ok: 'from w2' }));
    await join(w1);
    await start();
    const result = outcome(dispatcher.dispatch('echo', 'x'));
    await clock.advance(0);
    await join(w2);
    await clock.advance(250);
    transport.subscriber!.drop();
    transport.subscriber!.restore();
    await clock.advance(0);
    expect(w1.received).toHaveLength(2);
    await leaveForGood(w1, clock);
    // w1 is still finishing the attempt it acknowledged: within the grace it runs nowhere else.
    expect(w2.received).toEqual([]);
    expect(result.settled).toBe(false);
    void w1.finish(w1.received[0]!, 'from w1');
    await clock.advance(0);
    expect(result).toEqual({ settled: true, value: 'from w1' });
  });

  it('with maxAttempts 1, does not fail it WORKER_LOST while the leaving worker is finishing it', async () => {
    const { clock, transport, dispatcher, worker, join, start } = setup({
      maxAttempts: 1,
      leaveGraceMs: 5_000,
    });
    const w1 = worker('w1', (task) => (task.incarnation === undefined ? 'ack' : 'silent'));
    await join(w1);
    await start();
    const result = outcome(dispatcher.dispatch('echo', 'x'));
    await clock.advance(250);
    transport.subscriber!.drop();
    transport.subscriber!.restore();
    await clock.advance(0);
    await leaveForGood(w1, clock);
    expect(result.settled).toBe(false);
    void w1.finish(w1.received[0]!, 'from w1');
    await clock.advance(0);
    expect(result).toEqual({ settled: true, value: 'from w1' });
  });

  it('a refusal (BUSY) of a re-sent copy does not refund the attempt: the first copy may still run', async () => {
    const { clock, transport, dispatcher, worker, join, start } = setup({ maxAttempts: 1 });
    // The first copy waits unanswered in the worker; the re-sent one is refused.
    const w1 = worker('w1', (task) =>
      task.incarnation === undefined ? 'silent' : { nack: NackReason.BUSY },
    );
    const w2 = worker('w2', () => ({ ok: 'from w2' }));
    await join(w1);
    await start();
    const result = outcome(dispatcher.dispatch('echo', 'x'));
    await clock.advance(0);
    await join(w2);
    await clock.advance(100);
    transport.subscriber!.drop();
    transport.subscriber!.restore();
    await clock.advance(0);
    expect(w1.received.map((t) => t.incarnation)).toEqual([undefined, 'inc-w1']);
    // Not sent to w2 as if it had never run: its one attempt is spent.
    expect(w2.received).toEqual([]);
    expect(result.error?.code).toBe(ErrorCode.WORKER_LOST);
  });
});
