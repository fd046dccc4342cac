/** Delivery and redelivery on the in-memory transport: lost acks, deaf channels, refusals, leaving and dying workers. */
import { ErrorCode, type VirtualClock } from '@ringcast/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, type FakeWorker, n, outcome, setup } from './testing/core-fixture.js';

afterEach(closeAll);

/** What a draining worker does: says goodbye, then deletes its registry entry and heartbeat. */
async function leaveAndVanish(w: FakeWorker, clock: VirtualClock): Promise<void> {
  void w.leave();
  void w.command.command((redis) => {
    redis.hdel(n.registryKey, [w.info.id]);
    redis.del([n.heartbeatKey(w.info.id)]);
  });
  await clock.advance(0);
}

describe('redelivery on the memory transport', () => {
  it('sends a new attempt elsewhere when the ack does not come', async () => {
    const { clock, dispatcher, worker, join, start } = setup();
    const silent = worker('w1', () => 'silent');
    await join(silent);
    await start();
    const result = outcome(dispatcher.dispatch('echo', 'hi'));
    await clock.advance(0);
    expect(silent.received.map((t) => t.attempt)).toEqual([1]);
    // A second worker joins with the next reconcile round, before the ack window closes.
    const good = worker('w2', () => ({ ok: 'done' }));
    await join(good);
    await clock.advance(499);
    expect(result.settled).toBe(false);
    await clock.advance(20);
    expect(result).toEqual({ settled: true, value: 'done' });
    expect(good.received.map((t) => t.attempt)).toEqual([2]);
    expect(dispatcher.workers().find((v) => v.id === 'w1')?.healthy).toBe(false);
    expect(dispatcher.stats()).toMatchObject({ redelivered: 1, settled: { ok: 1 } });
  });

  it('re-routes at once when nobody listens on the worker channel, without spending an attempt', async () => {
    const { clock, dispatcher, worker, join, start } = setup({ maxAttempts: 1 });
    const deaf = worker('w1', () => ({ ok: 'never' }));
    await join(deaf, false);
    const good = worker('w2', () => ({ ok: 'heard' }));
    await join(good);
    await start();
    const result = outcome(dispatcher.dispatch('echo', 1));
    await clock.advance(0);
    expect(result).toEqual({ settled: true, value: 'heard' });
    expect(good.received.map((t) => t.attempt)).toEqual([2]);
    expect(dispatcher.stats().redelivered).toBe(1);
  });

  it('takes a worker whose heartbeat lapsed for dead, sends its attempts elsewhere and prunes its entry', async () => {
    const { clock, redis, dispatcher, worker, join, start } = setup();
    const dying = worker('w1', () => 'ack', { heartbeatTtlMs: 1_000 });
    await join(dying);
    await start();
    const result = outcome(dispatcher.dispatch('echo', 'z'));
    await clock.advance(0);
    expect(dying.received).toHaveLength(1);
    const good = worker('w2', () => ({ ok: 'survived' }));
    await join(good);
    // The heartbeat is never refreshed: it lapses at 1 s, the next round notices.
    await clock.advance(1_300);
    expect(result).toEqual({ settled: true, value: 'survived' });
    expect(dispatcher.workers().map((v) => v.id)).toEqual(['w2']);
    expect(redis.hget(n.registryKey, 'w1')).toBeNull();
    expect(good.received.map((t) => t.attempt)).toEqual([2]);
  });

  it('waits another ack window for a worker whose event loop is blocked, instead of running the task twice', async () => {
    const { clock, dispatcher, worker, join, start } = setup();
    const blocked = worker('w1', () => 'silent');
    await join(blocked);
    const other = worker('w2', () => ({ ok: 'ran twice' }));
    await join(other);
    await start();
    const result = outcome(dispatcher.dispatch('echo', 'once'));
    await clock.advance(0);
    expect(blocked.received).toHaveLength(1);
    // Its loop blocks after taking the task; its heartbeat thread says so.
    const beat = blocked.beat(';b=600');
    await clock.advance(0);
    await beat;
    await clock.advance(600);
    expect(result.settled).toBe(false);
    expect(other.received).toHaveLength(0);
    // The loop turns again: the task it held runs there, once.
    void blocked.finish(blocked.received[0]!, 'ran once');
    await clock.advance(0);
    expect(result).toEqual({ settled: true, value: 'ran once' });
    expect(dispatcher.stats().redelivered).toBe(0);
  });

  it('re-routes a BUSY nack at once, without spending an attempt', async () => {
    const { clock, dispatcher, worker, join, start } = setup({ maxAttempts: 1 });
    const busy = worker('w1', () => ({ nack: ErrorCode.BUSY }));
    await join(busy);
    const free = worker('w2', () => ({ ok: 'free' }));
    await join(free);
    await start();
    const result = outcome(dispatcher.dispatch('echo', 1));
    await clock.advance(0);
    expect(result).toEqual({ settled: true, value: 'free' });
    expect(busy.received).toHaveLength(1);
  });

  it('rejects at once with a nack that says the task cannot run anywhere', async () => {
    const { clock, dispatcher, worker, join, start } = setup();
    const w = worker('w1', () => ({ nack: ErrorCode.INVALID_MESSAGE }));
    await join(w);
    await start();
    const result = outcome(dispatcher.dispatch('echo', 1));
    await clock.advance(0);
    expect(result.error?.code).toBe(ErrorCode.INVALID_MESSAGE);
  });

  it('sends what a leaving worker never acknowledged elsewhere at once', async () => {
    const { clock, dispatcher, worker, join, start } = setup({ maxAttempts: 1 });
    const leaving = worker('w1', () => 'silent');
    await join(leaving);
    const staying = worker('w2', () => ({ ok: 'stayed' }));
    await join(staying);
    await start();
    const result = outcome(dispatcher.dispatch('echo', 1));
    await clock.advance(0);
    expect(leaving.received).toHaveLength(1);
    void leaving.leave();
    await clock.advance(0);
    expect(result).toEqual({ settled: true, value: 'stayed' });
    expect(dispatcher.workers().find((v) => v.id === 'w1')?.healthy).toBe(false);
  });

  it('leaves what a leaving worker acknowledged to it, though its heartbeat is gone', async () => {
    const { clock, dispatcher, worker, join, start } = setup({
      leaveGraceMs: 10_000,
      timeoutMs: 20_000,
    });
    const leaving = worker('w1', () => 'ack');
    await join(leaving);
    const staying = worker('w2', () => ({ ok: 'ran twice' }));
    await join(staying);
    await start();
    const result = outcome(dispatcher.dispatch('echo', 1));
    await clock.advance(0);
    const task = leaving.received[0]!;
    // A draining worker says goodbye and deletes its registry entry and heartbeat.
    await leaveAndVanish(leaving, clock);
    // Several reconcile rounds find it gone; its acknowledged attempt stays with it.
    await clock.advance(2_000);
    expect(staying.received).toHaveLength(0);
    expect(result.settled).toBe(false);
    void leaving.finish(task, 'finished by the leaver');
    await clock.advance(0);
    expect(result).toEqual({ settled: true, value: 'finished by the leaver' });
    expect(dispatcher.stats().redelivered).toBe(0);
  });

  it('re-sends what a leaving worker acknowledged once its grace ends unfinished', async () => {
    const { clock, dispatcher, worker, join, start } = setup({
      leaveGraceMs: 3_000,
      timeoutMs: 20_000,
    });
    const leaving = worker('w1', () => 'ack');
    await join(leaving);
    const staying = worker('w2', () => ({ ok: 'elsewhere' }));
    await join(staying);
    await start();
    const result = outcome(dispatcher.dispatch('echo', 1));
    await clock.advance(0);
    await leaveAndVanish(leaving, clock);
    await clock.advance(2_000);
    expect(result.settled).toBe(false);
    await clock.advance(1_500);
    expect(result).toEqual({ settled: true, value: 'elsewhere' });
  });

  it('keeps the local queue count true when a lost attempt exhausts the task (simulator seed 54)', async () => {
    const { clock, dispatcher, worker, join, start } = setup({ maxAttempts: 1, timeoutMs: 20_000 });
    // One slot: the second task waits in the local queue behind the first.
    const silent = worker('w1', () => 'silent', { concurrency: 1 });
    await join(silent);
    await start();
    const lost = outcome(dispatcher.dispatch('echo', 1));
    const behind = outcome(dispatcher.dispatch('echo', 2));
    await clock.advance(0);
    expect(dispatcher.stats().queued).toBe(1);
    // No ack: the only attempt the bound allows is lost, and the task fails.
    await clock.advance(600);
    expect(lost.error?.code).toBe(ErrorCode.WORKER_LOST);
    // The task behind it must still go out, long before its timeout (it stayed
    // in the queue with a count of 0, which the pump took for empty).
    await join(worker('w2', (task) => ({ ok: task.payload })));
    await clock.advance(2_000);
    expect(behind.settled).toBe(true);
    expect(dispatcher.stats()).toMatchObject({ queued: 0, inflight: 0 });
  });
});
