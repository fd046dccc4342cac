/** The dispatcher core on the in-memory transport: a task from dispatch() to settlement, deadlines, close. */
import { ErrorCode, encodeCompactOk, encodeFrame } from '@ringcast/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, n, outcome, setup } from './testing/core-fixture.js';

afterEach(closeAll);

describe('dispatch on the memory transport', () => {
  it('sends a task to a worker and settles with its result', async () => {
    const { clock, dispatcher, worker, join, start } = setup();
    const w = worker('w1', (task) => ({ ok: { echoed: task.payload } }));
    await join(w);
    await start();
    expect(dispatcher.workers().map((v) => v.id)).toEqual(['w1']);
    const result = outcome(dispatcher.dispatch('echo', { x: 1 }));
    await clock.advance(0);
    expect(result).toEqual({ settled: true, value: { echoed: { x: 1 } } });
    expect(w.received.map((t) => [t.handler, t.attempt, t.token])).toEqual([
      ['echo', 1, `${w.received[0]!.id}.1`],
    ]);
    expect(dispatcher.stats()).toMatchObject({
      dispatched: 1,
      settled: { ok: 1, error: {} },
      redelivered: 0,
      inflight: 0,
      queued: 0,
      workers: 1,
    });
  });

  it('rejects TIMEOUT at the deadline and cancels the attempt on its worker', async () => {
    const { clock, dispatcher, worker, join, start } = setup();
    const w = worker('w1', () => 'ack');
    await join(w);
    await start();
    const result = outcome(dispatcher.dispatch('echo', null, { timeoutMs: 300 }));
    await clock.advance(290);
    expect(result.settled).toBe(false);
    await clock.advance(30);
    expect(result.error?.code).toBe(ErrorCode.TIMEOUT);
    expect(result.error?.message).toContain('on worker w1');
    await clock.advance(0);
    expect(w.cancelled).toEqual([w.received[0]!.token]);
    expect(dispatcher.stats().settled.error).toEqual({ [ErrorCode.TIMEOUT]: 1 });
  });

  it('rejects NO_WORKERS when no worker joins before the deadline', async () => {
    const { clock, dispatcher, start } = setup();
    await start();
    const result = outcome(dispatcher.dispatch('echo', null, { timeoutMs: 300 }));
    await clock.advance(320);
    expect(result.error?.code).toBe(ErrorCode.NO_WORKERS);
    expect(dispatcher.stats()).toMatchObject({ dispatched: 1, queued: 0, inflight: 0 });
  });

  it('close() waits for work in flight, rejects what is left CLOSED, and leaves nothing running', async () => {
    const { clock, redis, transport, dispatcher, worker, join, start } = setup({
      drainTimeoutMs: 300,
    });
    const w = worker('w1', () => 'ack');
    await join(w);
    await start();
    const finishing = outcome(dispatcher.dispatch('echo', 'a'));
    const stuck = outcome(dispatcher.dispatch('echo', 'b'));
    await clock.advance(0);
    const closed = outcome(dispatcher.close());
    void w.finish(w.received[0]!, 'in time');
    await clock.advance(0);
    expect(finishing).toEqual({ settled: true, value: 'in time' });
    expect(stuck.settled).toBe(false);
    await clock.advance(300);
    expect(stuck.error?.code).toBe(ErrorCode.CLOSED);
    expect(closed.settled).toBe(true);
    expect(w.cancelled).toEqual([w.received[1]!.token]);
    expect(transport.command!.status).toBe('closed');
    expect(transport.subscriber!.status).toBe('closed');
    w.command.close();
    w.subscriber.close();
    // No timer of the dispatcher outlives it.
    expect(clock.pending).toBe(0);
    expect(redis.numsub([n.replyChannel('d1')])).toEqual([0]);
    const late = outcome(dispatcher.dispatch('echo', 'c'));
    await clock.advance(0);
    expect(late.error?.code).toBe(ErrorCode.CLOSED);
  });

  it('retries a retryable handler error after a backoff, as a new attempt', async () => {
    const { clock, dispatcher, worker, join, start } = setup({ retryBackoffMs: 100 });
    let runs = 0;
    const w = worker('w1', () =>
      ++runs === 1 ? { error: { name: 'Error', message: 'flaky', retryable: true } } : { ok: runs },
    );
    await join(w);
    await start();
    const result = outcome(dispatcher.dispatch('echo', null, { retries: 1 }));
    await clock.advance(0);
    expect(result.settled).toBe(false);
    await clock.advance(120);
    expect(result).toEqual({ settled: true, value: 2 });
    expect(w.received.map((t) => t.attempt)).toEqual([1, 2]);
  });

  it("keeps a call's own options when its payload's toJSON dispatches again", async () => {
    const { clock, dispatcher, worker, join, start } = setup();
    await join(worker('w1', () => 'ack'));
    await start();
    const controller = new AbortController();
    let inner: ReturnType<typeof outcome> | undefined;
    const payload = {
      toJSON() {
        inner = outcome(dispatcher.dispatch('echo', 'inner', { timeoutMs: 100 }));
        return 'outer';
      },
    };
    const outer = outcome(
      dispatcher.dispatch('echo', payload, { timeoutMs: 4_000, signal: controller.signal }),
    );
    await clock.advance(200);
    expect(inner?.error?.code).toBe(ErrorCode.TIMEOUT);
    // The outer task kept its own timeout, and its own signal still cancels it.
    expect(outer.settled).toBe(false);
    controller.abort();
    await clock.advance(0);
    expect(outer.error?.code).toBe(ErrorCode.CANCELLED);
  });

  it('fails UNKNOWN_HANDLER, not TIMEOUT, a queued task no worker that joined can run, and sends the ones behind it', async () => {
    const { clock, dispatcher, worker, join, start } = setup();
    await start();
    // Queued while no worker is known: nothing can be said of the handler yet.
    const nobody = outcome(dispatcher.dispatch('resize', 1));
    const echo = outcome(dispatcher.dispatch('echo', 2));
    await clock.advance(10);
    expect(nobody.settled).toBe(false);
    await join(worker('w1', (task) => ({ ok: task.payload })));
    await clock.advance(500);
    expect(nobody.error?.code).toBe(ErrorCode.UNKNOWN_HANDLER);
    expect(echo).toEqual({ settled: true, value: 2 });
  });

  it('fails INVALID_MESSAGE at once a result it cannot read, instead of waiting for the timeout', async () => {
    const { clock, dispatcher, worker, join, start } = setup({ timeoutMs: 20_000 });
    const w = worker('w1', () => 'ack');
    await join(w);
    await start();
    const deep = outcome(dispatcher.dispatch('echo', 'deep'));
    const fine = outcome(dispatcher.dispatch('echo', 'fine'));
    await clock.advance(0);
    const [a, b] = w.received;
    // One frame: a result nested past the decoder's depth limit beside one whose
    // text makes the decoder search the whole frame for forbidden keys.
    const nested = `${'['.repeat(300)}${']'.repeat(300)}`;
    const frame = encodeFrame(
      [
        encodeCompactOk(a!.id, a!.token, nested),
        encodeCompactOk(b!.id, b!.token, JSON.stringify({ note: 'a prototype' })),
      ],
      { worker: 'w1', incarnation: w.info.incarnation },
    );
    void w.command.publish(n.replyChannel('d1'), frame);
    await clock.advance(0);
    expect(fine).toEqual({ settled: true, value: { note: 'a prototype' } });
    expect(deep.error?.code).toBe(ErrorCode.INVALID_MESSAGE);
  });
});
