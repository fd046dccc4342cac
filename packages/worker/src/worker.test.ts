/**
 * The worker core on the in-memory transport and a virtual clock: no Redis, no
 * sleeps. A fake dispatcher publishes task frames with protocol's encoders on a
 * MemoryRedis connection of its own and reads the replies and control messages.
 */
import {
  DurationHistogram,
  decode,
  ErrorCode,
  encode,
  type Message,
  NackReason,
  parseHeartbeat,
  parseHistogramSnapshot,
  parseWorkerReport,
} from '@ringcast/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryWorkerTransport } from './memory-transport.js';
import {
  DISPATCHER,
  expectWorkersIdle,
  ID,
  manual,
  NS,
  n,
  setup,
  TICK,
} from './testing/core-fixture.js';
import type { WorkerTransportEvents } from './transport.js';
import { createWorkerCore } from './worker.js';

afterEach(expectWorkersIdle);

/** What the worker sends a second dispatcher, `id`, that listens on its reply channel. */
async function repliesTo(t: Awaited<ReturnType<typeof setup>>, id: string): Promise<Message[]> {
  const heard: Message[] = [];
  const listener = t.redis.connect(`dispatcher-${id}`);
  listener.onMessage((_, data) => {
    const decoded = decode(data);
    if (decoded.ok) heard.push(...decoded.messages);
  });
  await t.settle(listener.subscribe([n.replyChannel(id)]));
  return heard;
}

describe('worker core on the memory transport', () => {
  it('registers, announces itself, and beats while it runs', async () => {
    const t = await setup({ job: () => 1 });
    await t.settle(t.worker.start());
    await t.clock.advance(TICK);
    const entry = t.redis.hget(n.registryKey, ID);
    // The default heartbeat timings, the interval included: tools judge a late heartbeat by it.
    expect(JSON.parse(entry!)).toMatchObject({
      id: ID,
      handlers: ['job'],
      heartbeatTtlMs: 3000,
      heartbeatIntervalMs: 1000,
    });
    expect(t.control.map((m) => m.kind)).toEqual(['hello']);
    expect(t.redis.numsub([n.workerChannel(ID)])).toEqual([1]);
    // The heartbeat key outlives its TTL only if it is refreshed.
    await t.clock.advance(10_000);
    const beat = parseHeartbeat(t.redis.get(n.heartbeatKey(ID)));
    expect(beat?.incarnation).toBe(t.worker.info().incarnation);
    expect(t.redis.pttl(n.heartbeatKey(ID))).toBeGreaterThan(0);
    await t.settle(t.worker.close());
    expect(t.redis.hget(n.registryKey, ID)).toBeNull();
    expect(t.redis.get(n.heartbeatKey(ID))).toBeNull();
    expect(t.control.map((m) => m.kind)).toEqual(['hello', 'leave']);
  });

  it('keeps execution stats per handler, publishes them beside its registry entry, and counts them in its metrics', async () => {
    const t = await setup(
      {
        job: () => 1,
        fail: () => {
          throw new Error('no');
        },
        idle: () => 0,
      },
      { metrics: true },
    );
    await t.settle(t.worker.start());
    await t.send(t.task(), t.task({ attempt: 2 }), t.task({ handler: 'fail' }));
    const { handlers } = t.worker.stats();
    expect(Object.keys(handlers).sort()).toEqual(['fail', 'idle', 'job']);
    expect(handlers['job']).toMatchObject({ succeeded: 2, failed: {}, redelivered: 1 });
    expect(handlers['job']?.duration.count).toBe(2);
    expect(handlers['fail']).toMatchObject({ succeeded: 0, failed: { HANDLER_ERROR: 1 } });
    expect(handlers['idle']?.duration.count).toBe(0);
    await t.clock.advance(1_000);
    expect(t.worker.stats().handlers['job']?.throughput.lastMinute).toBe(2);
    const published = JSON.parse(t.redis.get(n.workerStatsKey(ID))!);
    expect(published).toMatchObject({
      incarnation: t.worker.info().incarnation,
      handlers: { job: { succeeded: 2 }, fail: { failed: { HANDLER_ERROR: 1 } } },
      inflight: 0,
      queued: 0,
    });
    // The histogram behind each duration, for tools that merge workers' figures.
    const job = new DurationHistogram();
    job.merge(parseHistogramSnapshot(published.histograms.job)!);
    expect(job.summary()).toEqual(handlers['job']?.duration);
    expect(t.redis.pttl(n.workerStatsKey(ID))).toBeGreaterThan(0);
    const text = await t.worker.metrics().registry.metrics();
    expect(text).toContain('ringcast_worker_tasks_total{handler="job",outcome="ok"} 2');
    expect(text).toContain('ringcast_worker_tasks_total{handler="fail",outcome="HANDLER_ERROR"} 1');
    expect(text).toContain('ringcast_worker_handler_duration_seconds_count{handler="job"} 2');
    for (const name of ['ringcast_worker_inflight', 'ringcast_worker_stuck_slots']) {
      expect(text).toContain(`\n${name} 0`);
    }
    await t.settle(t.worker.close());
    expect(t.redis.get(n.workerStatsKey(ID))).toBeNull();
  });

  it('publishes how many handlers run and wait, as of each write', async () => {
    const { runs, handler } = manual();
    const t = await setup({ job: handler }, { concurrency: 1, maxQueue: 1 });
    await t.settle(t.worker.start());
    await t.send(t.task(), t.task());
    // The idle write is due a third of the key's TTL after the last one.
    await t.clock.advance(1_000);
    const busy = parseWorkerReport(t.redis.get(n.workerStatsKey(ID)));
    expect(busy).toMatchObject({ inflight: 1, queued: 1 });
    runs[0]!.resolve(1);
    await t.clock.advance(TICK);
    runs[1]!.resolve(2);
    await t.clock.advance(1_000);
    const idle = parseWorkerReport(t.redis.get(n.workerStatsKey(ID)));
    expect(idle).toMatchObject({ inflight: 0, queued: 0 });
    expect(idle?.handlers['job']?.succeeded).toBe(2);
    await t.settle(t.worker.close());
  });

  it('throws INVALID_OPTIONS for metrics() when made without them', async () => {
    const t = await setup({ job: () => 1 });
    expect(() => t.worker.metrics()).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_OPTIONS }),
    );
  });

  it('answers a synchronous handler with its result alone, an asynchronous one with an ack first', async () => {
    const slow = manual();
    const t = await setup({ job: (p) => p, slow: slow.handler });
    await t.settle(t.worker.start());
    await t.send(t.task());
    expect(t.replies).toMatchObject([{ kind: 'result', id: 't1', ok: true, value: { seq: 1 } }]);
    await t.send(t.task({ handler: 'slow' }));
    expect(t.kinds()).toEqual(['result', 'ack']);
    slow.runs[0]!.resolve('done');
    await t.clock.advance(TICK);
    expect(t.replies.at(-1)).toMatchObject({ kind: 'result', id: 't2', ok: true, value: 'done' });
    expect(t.worker.stats()).toMatchObject({ received: 2, acked: 1, succeeded: 2, inflight: 0 });
    await t.settle(t.worker.close());
  });

  it('acks a re-sent running attempt again and answers a re-sent finished one from its record', async () => {
    const slow = manual();
    let runs = 0;
    const t = await setup({ job: () => ++runs, slow: slow.handler });
    await t.settle(t.worker.start());
    const once = t.task();
    await t.send(once);
    // The dispatcher lost the result and sends the attempt again: it must not run twice.
    await t.send(once);
    expect(runs).toBe(1);
    expect(t.replies).toMatchObject([
      { kind: 'result', token: once.token, value: 1 },
      { kind: 'result', token: once.token, value: 1 },
    ]);
    // A lost ack: the re-sent attempt is still running here and is acked again.
    const running = t.task({ handler: 'slow' });
    await t.send(running);
    await t.send(running);
    expect(t.kinds().slice(2)).toEqual(['ack', 'ack']);
    expect(slow.runs).toHaveLength(1);
    expect(t.worker.stats().duplicates).toBe(2);
    slow.runs[0]!.resolve(0);
    await t.settle(t.worker.close());
  });

  it('answers a running attempt sent again by another dispatcher (it took the task over) to both', async () => {
    const slow = manual();
    const t = await setup({ slow: slow.handler });
    const other = await repliesTo(t, 'd2');
    await t.settle(t.worker.start());
    const running = t.task({ handler: 'slow' });
    await t.send(running);
    expect(t.kinds()).toEqual(['ack']);
    // d2 took the task over (d1 died, or stalled past its TTL) and sent the same attempt.
    await t.send({ ...running, replyTo: 'd2' });
    expect(slow.runs).toHaveLength(1);
    expect(other.map((m) => m.kind)).toEqual(['ack']);
    slow.runs[0]!.resolve('done');
    await t.clock.advance(TICK);
    // Each hears the one run's result: the store keeps only its current owner's.
    expect(other.at(-1)).toMatchObject({ kind: 'result', token: running.token, value: 'done' });
    expect(t.replies.at(-1)).toMatchObject({ kind: 'result', token: running.token, value: 'done' });
    expect(t.kinds()).toEqual(['ack', 'result']);
    await t.settle(t.worker.close());
  });

  it('stops an attempt two dispatchers sent only when both gave up on it, or on a cancel that names no sender', async () => {
    const slow = manual();
    const t = await setup({ slow: slow.handler });
    const other = await repliesTo(t, 'd2');
    await t.settle(t.worker.start());
    const shared = t.task({ handler: 'slow' });
    await t.send(shared, { ...shared, replyTo: 'd2' });
    const forAll = t.task({ handler: 'slow' });
    await t.send(forAll, { ...forAll, replyTo: 'd2' });
    expect(slow.runs).toHaveLength(2);
    const signal = (i: number) => slow.runs[i]!.ctx.signal;
    // The first sender gives up (a stale owner's timeout): the run goes on for d2, which alone hears it.
    await t.send({ kind: 'cancel', id: shared.id, token: shared.token, from: DISPATCHER });
    // A dispatcher the attempt never answered changes nothing.
    await t.send({ kind: 'cancel', id: shared.id, token: shared.token, from: 'd3' });
    expect(signal(0).aborted).toBe(false);
    // cancel(id): no sender named, the run stops whoever waits for it.
    await t.send({ kind: 'cancel', id: forAll.id, token: forAll.token });
    expect(signal(1).reason).toMatchObject({ code: ErrorCode.CANCELLED });
    slow.runs[1]!.reject(signal(1).reason);
    slow.runs[0]!.resolve('kept');
    await t.clock.advance(TICK);
    expect(other.filter((m) => m.kind === 'result' && m.token === shared.token)).toMatchObject([
      { value: 'kept' },
    ]);
    expect(t.replies.filter((m) => m.kind === 'result' && m.token === shared.token)).toEqual([]);
    expect(t.worker.stats().cancelled).toBe(1);
    // A second shared attempt: once both senders gave up, its run stops.
    const both = t.task({ handler: 'slow' });
    await t.send(both, { ...both, replyTo: 'd2' });
    await t.send({ kind: 'cancel', id: both.id, token: both.token, from: 'd2' });
    expect(signal(2).aborted).toBe(false);
    await t.send({ kind: 'cancel', id: both.id, token: both.token, from: DISPATCHER });
    expect(signal(2).reason).toMatchObject({ code: ErrorCode.CANCELLED });
    slow.runs[2]!.reject(signal(2).reason);
    await t.settle(t.worker.close());
  });

  it('refuses, as WORKER_LOST, a re-send meant for an earlier process under its id, and runs one meant for itself', async () => {
    let runs = 0;
    const t = await setup({ job: () => ++runs });
    await t.settle(t.worker.start());
    // Before a restart the attempt may have run on the earlier process: running it here could exceed its bound.
    const earlier = t.task({ incarnation: 'an-earlier-process' });
    await t.send(earlier);
    expect(runs).toBe(0);
    expect(t.replies).toMatchObject([
      { kind: 'nack', token: earlier.token, reason: NackReason.WORKER_LOST },
    ]);
    // A re-send naming this process (its first send was lost in flight) runs.
    const mine = t.task({ incarnation: t.worker.info().incarnation });
    await t.send(mine);
    expect(runs).toBe(1);
    expect(t.replies.at(-1)).toMatchObject({ kind: 'result', token: mine.token, value: 1 });
    // One it ran answers from its record, whatever incarnation the re-send names.
    await t.send({ ...mine, incarnation: 'an-earlier-process' });
    expect(runs).toBe(1);
    expect(t.replies.at(-1)).toMatchObject({ kind: 'result', token: mine.token, value: 1 });
    expect(t.worker.stats().nacked.WORKER_LOST).toBe(1);
    await t.settle(t.worker.close());
  });

  it('refuses unknown handlers, expired tasks, and tasks beyond its capacity', async () => {
    const slow = manual();
    const t = await setup({ job: slow.handler }, { concurrency: 1, maxQueue: 1 });
    await t.settle(t.worker.start());
    await t.send(
      t.task({ handler: 'nope' }),
      t.task({ deadline: t.clock.now() - 1 }),
      t.task(),
      t.task(),
      t.task(),
    );
    expect(t.kinds()).toEqual([
      `nack:${NackReason.UNKNOWN_HANDLER}`,
      `nack:${NackReason.EXPIRED}`,
      `nack:${NackReason.BUSY}`,
      'ack',
      'ack',
    ]);
    expect(t.worker.stats()).toMatchObject({ inflight: 1, queued: 1 });
    slow.runs[0]!.resolve(1);
    await t.clock.advance(TICK);
    slow.runs[1]!.resolve(2);
    await t.clock.advance(TICK);
    expect(t.worker.stats()).toMatchObject({ inflight: 0, queued: 0, succeeded: 2 });
    await t.settle(t.worker.close());
  });

  it('runs at most `concurrency` asynchronous handlers at once, the rest in arrival order', async () => {
    const slow = manual();
    const t = await setup({ job: slow.handler }, { concurrency: 2, maxQueue: 3 });
    await t.settle(t.worker.start());
    await t.send(t.task(), t.task(), t.task(), t.task(), t.task());
    const started = () => slow.runs.map((run) => (run.payload as { seq: number }).seq);
    expect(started()).toEqual([1, 2]);
    expect(t.worker.stats()).toMatchObject({ inflight: 2, queued: 3 });
    slow.runs[1]!.resolve(0);
    await t.clock.advance(TICK);
    expect(started()).toEqual([1, 2, 3]);
    for (let i = 0; i < 5; i++) slow.runs[i]?.resolve(0);
    await t.clock.advance(TICK);
    for (let i = 0; i < 5; i++) slow.runs[i]?.resolve(0);
    await t.clock.advance(TICK);
    expect(started()).toEqual([1, 2, 3, 4, 5]);
    expect(t.worker.stats()).toMatchObject({ inflight: 0, queued: 0, succeeded: 5 });
    await t.settle(t.worker.close());
  });

  it('cancels: a queued attempt never runs, a running one sees its signal abort', async () => {
    const slow = manual();
    const t = await setup({ job: slow.handler }, { concurrency: 1 });
    await t.settle(t.worker.start());
    const running = t.task();
    const queued = t.task();
    await t.send(running, queued);
    await t.send({ kind: 'cancel', id: queued.id, token: queued.token });
    await t.send({ kind: 'cancel', id: running.id, token: running.token });
    const { ctx, reject } = slow.runs[0]!;
    expect(ctx.signal.aborted).toBe(true);
    expect(ctx.signal.reason).toMatchObject({ code: ErrorCode.CANCELLED });
    reject(new Error('gave up'));
    await t.clock.advance(TICK);
    expect(t.replies.at(-1)).toMatchObject({
      kind: 'result',
      id: running.id,
      ok: false,
      error: { code: ErrorCode.CANCELLED },
    });
    // The slot the cancelled queued attempt would have taken goes straight back.
    expect(slow.runs).toHaveLength(1);
    expect(t.worker.stats()).toMatchObject({ cancelled: 2, queued: 0, inflight: 0 });
    await t.settle(t.worker.close());
  });

  it('aborts a handler at its deadline (TIMEOUT) and counts its slot overdue while it ignores that', async () => {
    const slow = manual();
    const t = await setup({ job: slow.handler });
    await t.settle(t.worker.start());
    await t.send(t.task({ deadline: t.clock.now() + 500 }));
    await t.clock.advance(600);
    expect(slow.runs[0]!.ctx.signal.reason).toMatchObject({ code: ErrorCode.TIMEOUT });
    await t.clock.advance(1_000);
    expect(t.worker.stats().overdue).toBe(1);
    await t.clock.advance(1_000);
    expect(parseHeartbeat(t.redis.get(n.heartbeatKey(ID)))?.overdue).toBe(1);
    // It gives up at last, with whatever its API throws: the reply says why it was aborted.
    slow.runs[0]!.reject(new Error('AbortError'));
    await t.clock.advance(100);
    expect(t.worker.stats().overdue).toBe(0);
    expect(t.replies.at(-1)).toMatchObject({ kind: 'result', error: { code: ErrorCode.TIMEOUT } });
    await t.settle(t.worker.close());
  });

  it('drains on close: queued attempts nacked DRAINING and running ones acked before the leave, then they finish', async () => {
    const slow = manual();
    const t = await setup({ job: slow.handler }, { concurrency: 1 });
    await t.settle(t.worker.start());
    const running = t.task();
    const queued = t.task();
    // Both arrive in one turn and close() begins before their acks go out.
    void t.peer.publish(n.workerChannel(ID), encode([running, queued]));
    await t.clock.runUntil(t.clock.now(), () => t.worker.stats().inflight === 1);
    expect(t.replies).toEqual([]);
    const closed = t.worker.close();
    await t.clock.advance(TICK);
    expect(t.kinds()).toEqual([`nack:${NackReason.DRAINING}`, 'ack']);
    expect(t.control.map((m) => m.kind)).toEqual(['hello', 'leave']);
    expect(t.redis.hget(n.registryKey, ID)).toBeNull();
    // Tasks that arrive now are refused.
    await t.send(t.task());
    expect(t.kinds().at(-1)).toBe(`nack:${NackReason.DRAINING}`);
    slow.runs[0]!.resolve('finished');
    await t.settle(closed);
    expect(t.replies.at(-1)).toMatchObject({ kind: 'result', id: running.id, value: 'finished' });
    expect(slow.runs).toHaveLength(1);
  });

  it('aborts handlers still running after drainTimeoutMs, reason CLOSED', async () => {
    const slow = manual();
    const t = await setup({ job: slow.handler }, { drainTimeoutMs: 1_000 });
    await t.settle(t.worker.start());
    await t.send(t.task({ deadline: t.clock.now() + 60_000 }));
    const closed = t.worker.close();
    await t.clock.advance(1_100);
    const { ctx, reject } = slow.runs[0]!;
    expect(ctx.signal.reason).toMatchObject({ code: ErrorCode.CLOSED });
    reject(ctx.signal.reason);
    await t.settle(closed);
    expect(t.replies.at(-1)).toMatchObject({ kind: 'result', error: { code: ErrorCode.CLOSED } });
  });

  it('stops beating while its subscriber connection is down, and recovers once it is back', async () => {
    const t = await setup({ job: (p) => p }, {});
    await t.settle(t.worker.start());
    t.transport.subscriber!.drop();
    // No beat while the subscription is lost: the key lapses, dispatchers stop routing here.
    await t.clock.advance(5_000);
    expect(t.redis.get(n.heartbeatKey(ID))).toBeNull();
    // Redis restarted meanwhile: the registration is gone too, and must come back.
    t.redis.hdel(n.registryKey, [ID]);
    t.transport.subscriber!.restore();
    await t.clock.advance(2_000);
    expect(t.redis.numsub([n.workerChannel(ID)])).toEqual([1]);
    expect(t.redis.hget(n.registryKey, ID)).not.toBeNull();
    expect(t.redis.get(n.heartbeatKey(ID))).not.toBeNull();
    expect(t.control.map((m) => m.kind)).toEqual(['hello', 'hello']);
    await t.send(t.task());
    expect(t.kinds()).toEqual(['result']);
    await t.settle(t.worker.close());
  });

  it('after Redis restarts empty, registers again and sends what it could not while it was down', async () => {
    const slow = manual();
    const t = await setup({ job: slow.handler });
    await t.settle(t.worker.start());
    await t.send(t.task());
    t.redis.restart();
    t.peer.restore();
    await t.settle(t.peer.subscribe([n.replyChannel(DISPATCHER), n.controlChannel]));
    // The handler finishes while the worker's connections are down.
    slow.runs[0]!.resolve('kept');
    await t.clock.advance(10);
    expect(t.redis.keys()).toEqual([]);
    for (const connection of t.transport.connections) connection.restore();
    await t.clock.advance(2_000);
    expect(t.replies.at(-1)).toMatchObject({ kind: 'result', value: 'kept' });
    expect(t.redis.hget(n.registryKey, ID)).not.toBeNull();
    expect(t.redis.get(n.heartbeatKey(ID))).not.toBeNull();
    // The identity check takes the lapsed claim back.
    expect(t.redis.get(n.claimKey(ID))).toBe(t.worker.info().incarnation);
    expect(t.worker.stats()).toMatchObject({ fenced: false, dropped: 0 });
    await t.settle(t.worker.close());
  });

  it('parks a reply nobody heard, and keeps one it could not publish until the connection is back', async () => {
    const slow = manual();
    const t = await setup({ job: slow.handler });
    await t.settle(t.worker.start());
    await t.send(t.task(), t.task());
    // The dispatcher is between subscriptions: the result goes to its parked list.
    await t.settle(t.peer.unsubscribe([n.replyChannel(DISPATCHER)]));
    slow.runs[0]!.resolve('parked');
    await t.clock.advance(10);
    const parked = t.redis.lrange(n.parkedKey(DISPATCHER), 0, -1);
    expect(parked).toHaveLength(1);
    expect(t.worker.stats().parked).toBe(1);
    // Redis cannot be reached: the result waits for the command connection.
    await t.settle(t.peer.subscribe([n.replyChannel(DISPATCHER)]));
    t.transport.command!.drop();
    slow.runs[1]!.resolve('retried');
    await t.clock.advance(10);
    expect(t.replies.filter((m) => m.kind === 'result')).toEqual([]);
    t.transport.command!.restore();
    await t.clock.advance(10);
    expect(t.replies.at(-1)).toMatchObject({ kind: 'result', value: 'retried' });
    await t.settle(t.worker.close());
  });

  it('close() ends while Redis is stalled: the unsubscribe is waited for a bounded time', async () => {
    const t = await setup({ job: () => 1 }, { drainTimeoutMs: 500 });
    await t.settle(t.worker.start());
    t.redis.stall(60_000);
    const started = t.clock.now();
    await t.settle(t.worker.close());
    expect(t.clock.now() - started).toBeLessThan(10_000);
  });

  it('starts once: start() while starting or running is that start, after close() it rejects CLOSED', async () => {
    const t = await setup({ job: () => 1 });
    const first = t.worker.start();
    expect(t.worker.start()).toBe(first);
    await t.settle(first);
    await t.settle(t.worker.start());
    await t.settle(t.worker.close());
    await expect(t.settle(t.worker.start())).rejects.toMatchObject({
      code: ErrorCode.CLOSED,
      message: 'the worker is closed and cannot start',
    });
    expect(t.control.filter((m) => m.kind === 'hello')).toHaveLength(1);
  });

  it('names itself the same way, "worker <id>: ", at the start of every line it logs', async () => {
    const lines: string[] = [];
    const logger = {
      info: (m: string) => lines.push(m),
      warn: (m: string) => lines.push(m),
      error: (m: string) => lines.push(m),
    };
    let events: WorkerTransportEvents | undefined;
    class Watched extends MemoryWorkerTransport {
      override connect(given: WorkerTransportEvents): Promise<void> {
        events = given;
        return super.connect(given);
      }
    }
    const slow = manual();
    const t = await setup(
      { job: slow.handler },
      {
        logger,
        drainTimeoutMs: 100,
        heartbeatIntervalMs: 100,
        transport: (redis) => new Watched(redis, n, ID),
      },
    );
    await t.settle(t.worker.start());
    await t.sendRaw('not a frame');
    await t.send(t.task());
    events!.error(new Error('read ECONNRESET'), 'command');
    // Redis cannot be reached: the identity check and the result's publish fail.
    t.transport.command!.drop();
    slow.runs[0]!.resolve('late');
    await t.clock.advance(500);
    t.transport.command!.restore();
    await t.clock.advance(500);
    // Still running at the close: the drain warns, and aborts it.
    await t.send(t.task());
    await t.settle(t.worker.close());
    slow.runs[1]!.resolve('ignored the abort');
    await t.clock.advance(TICK);
    for (const text of [
      'started',
      'dropped an invalid message',
      'Redis command connection error: read ECONNRESET',
      "checking the worker id's claim failed",
      'publish to',
      'still running after 100 ms',
      'stopped',
    ]) {
      expect(lines.some((line) => line.includes(text))).toBe(true);
    }
    expect(lines.filter((line) => !line.startsWith(`worker ${ID}: `))).toEqual([]);
  });

  it('refuses to start when another live process holds its id', async () => {
    const t = await setup({ job: () => 1 });
    await t.settle(t.worker.start());
    const other = createWorkerCore(
      { id: ID, namespace: NS, handlers: { job: () => 1 }, logger: false },
      new MemoryWorkerTransport(t.redis, n, ID),
    );
    await expect(t.settle(other.start())).rejects.toMatchObject({
      code: ErrorCode.DUPLICATE_WORKER,
    });
    await t.settle(t.worker.close());
  });
});
