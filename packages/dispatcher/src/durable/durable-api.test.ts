import { ErrorCode, type TaskMessage } from '@ringcast/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryTransport } from '../memory-transport.js';
import { closeAll, NS, n, outcome, setup } from '../testing/core-fixture.js';
import { closeOn, holding, rejection, run, second } from '../testing/durable-fixture.js';
import { MemoryStore } from './memory-store.js';
import type { KnownRecords } from './store.js';

afterEach(closeAll);

describe('durable tasks on the memory transport', () => {
  it('submit stores the task, runs it, and task(id) shows each state', async () => {
    const s = setup();
    const { w, got } = holding(s);
    await s.join(w);
    await s.start();
    await s.clock.advance(300);
    const id = await run(s, s.dispatcher.submit('echo', { x: 1 }, { priority: 7 }));
    expect(typeof id).toBe('string');
    await s.clock.advance(20);
    expect(got.map((t) => t.id)).toEqual([id]);
    const active = await run(s, s.dispatcher.task(id));
    expect(active).toMatchObject({
      id,
      handler: 'echo',
      state: 'active',
      attempts: 1,
      worker: 'w1',
      priority: 7,
    });
    expect(active?.startedAt).toBeTypeOf('number');
    await run(s, w.finish(got[0]!, { y: 2 }));
    await s.clock.advance(20);
    const done = await run(s, s.dispatcher.task(id));
    expect(done).toMatchObject({ state: 'succeeded', result: { y: 2 } });
    expect(done?.finishedAt).toBeTypeOf('number');
    expect(done?.error).toBeUndefined();

    // No worker with room: it waits; not due yet: it is delayed.
    const waiting = await run(s, s.dispatcher.submit('echo', 1));
    await run(s, s.dispatcher.submit('echo', 2));
    await run(s, s.dispatcher.submit('echo', 3));
    await run(s, s.dispatcher.submit('echo', 4));
    const queued = await run(s, s.dispatcher.submit('echo', 5));
    expect((await run(s, s.dispatcher.task(waiting)))?.state).toBe('active');
    expect((await run(s, s.dispatcher.task(queued)))?.state).toBe('waiting');
    const later = await run(s, s.dispatcher.submit('echo', 6, { delayMs: 60_000 }));
    expect((await run(s, s.dispatcher.task(later)))?.state).toBe('delayed');
    expect(s.dispatcher.stats().durable.claimed).toBe(5);
  });

  it('result() from a second dispatcher on the same Redis gets the outcome, and the stored error code', async () => {
    const s = setup();
    const w = s.worker('w1', (task) =>
      task.payload === 'fail'
        ? { error: { name: 'Error', message: 'no', retryable: false } }
        : { ok: `done ${String(task.payload)}` },
    );
    await s.join(w);
    await s.start();
    const other = await second(s, 'd2');
    const id = await run(s, s.dispatcher.submit('echo', 'a'));
    const failing = await run(s, s.dispatcher.submit('echo', 'fail'));
    await expect(run(s, other.result(id, { timeoutMs: 5_000 }))).resolves.toBe('done a');
    const error = await rejection(s, other.result(failing));
    expect(error.code).toBe(ErrorCode.HANDLER_ERROR);
    await closeOn(s, other);
  });

  it('result() waits for a task that finishes later, and times out with TIMEOUT without ending it', async () => {
    const s = setup();
    const { w, got } = holding(s);
    await s.join(w);
    await s.start();
    const other = await second(s, 'd2');
    const id = await run(s, s.dispatcher.submit('echo', 1));
    const timeout = await rejection(s, other.result(id, { timeoutMs: 300 }));
    expect(timeout.code).toBe(ErrorCode.TIMEOUT);
    const waiting = outcome(other.result(id, { timeoutMs: 10_000 }));
    await s.clock.advance(100);
    expect(waiting.settled).toBe(false);
    await run(s, w.finish(got[0]!, 42));
    for (let i = 0; i < 20 && !waiting.settled; i++) await s.clock.advance(10);
    expect(waiting.value).toBe(42);
    await closeOn(s, other);
  });

  it('result() checks its options as dispatch() does: an unknown key or a non-object is INVALID_OPTIONS, a fractional timeoutMs is a timeout', async () => {
    const s = setup();
    const { w } = holding(s);
    await s.join(w);
    await s.start();
    const id = await run(s, s.dispatcher.submit('echo', 1));
    const refused: Array<[unknown, RegExp]> = [
      [{ timeout: 500 }, /unknown option "timeout"/],
      [{ timeoutMs: 500, retries: 1 }, /unknown option "retries"/],
      [500, /options must be an object, got 500/],
      [null, /options must be an object, got null/],
      [[], /options must be an object, got an array/],
      [{ timeoutMs: 0 }, /timeoutMs must be a positive number up to 2147483647, got 0/],
      [{ timeoutMs: '500' }, /timeoutMs must be a positive number/],
    ];
    for (const [options, message] of refused) {
      const error = await rejection(s, s.dispatcher.result(id, options as never));
      expect(error.code).toBe(ErrorCode.INVALID_OPTIONS);
      expect(error.message).toMatch(/^invalid result\(\) options: /);
      expect(error.message).toMatch(message);
    }
    // dispatch() takes any positive timeoutMs up to the timer cap, as its README says; so does result().
    const timeout = await rejection(s, s.dispatcher.result(id, { timeoutMs: 1.5 }));
    expect(timeout.code).toBe(ErrorCode.TIMEOUT);
  });

  it('dispatch(…, { durable: true }) stores the task and settles like a non-durable dispatch', async () => {
    const s = setup();
    const w = s.worker('w1', (task) =>
      task.payload === 'fail'
        ? { error: { name: 'TypeError', message: 'bad', retryable: false } }
        : { ok: task.payload },
    );
    await s.join(w);
    await s.start();
    await expect(run(s, s.dispatcher.dispatch('echo', 'v', { durable: true }))).resolves.toBe('v');
    const error = await rejection(s, s.dispatcher.dispatch('echo', 'fail', { durable: true }));
    expect(error.code).toBe(ErrorCode.HANDLER_ERROR);
    const keys = await run(
      s,
      s.transport.command!.command((r) => taskKeys(r.keys())),
    );
    expect(keys).toHaveLength(2);
    expect(s.dispatcher.stats().settled.ok).toBe(1);
  });

  it('a durable dispatch reads nothing back: its outcome comes with its own terminal write, through the backlog too', async () => {
    const s = setup();
    await s.join(s.worker('w1', (task) => ({ ok: task.payload }), { concurrency: 1, maxQueue: 0 }));
    await s.start();
    const get = vi.spyOn(s.transport.durableStore(), 'get');
    // One claimed at once, two through the backlog.
    const values = await run(
      s,
      Promise.all(['a', 'b', 'c'].map((v) => s.dispatcher.dispatch('echo', v, { durable: true }))),
    );
    expect(values).toEqual(['a', 'b', 'c']);
    expect(get).not.toHaveBeenCalled();
  });

  it("a durable dispatch's task claimed from the backlog comes with the dispatcher's copy, held only while the call waits", async () => {
    const s = setup();
    await s.join(s.worker('w1', (task) => ({ ok: task.payload }), { concurrency: 1, maxQueue: 0 }));
    await s.start();
    const store = s.transport.durableStore();
    const claim = store.claim.bind(store);
    const copies: Array<string | undefined> = [];
    const claimed: string[] = [];
    let lastKnown: KnownRecords | undefined;
    vi.spyOn(store, 'claim').mockImplementation(async (owner, n, now, known) => {
      const records = await claim(owner, n, now, known);
      for (const record of records) copies.push(known?.(record.id)?.record.payloadJson);
      claimed.push(...records.map((r) => r.id));
      lastKnown = known ?? lastKnown;
      return records;
    });
    // One claimed at once, two through the backlog.
    const values = await run(
      s,
      Promise.all(['a', 'b', 'c'].map((v) => s.dispatcher.dispatch('echo', v, { durable: true }))),
    );
    expect(values).toEqual(['a', 'b', 'c']);
    // Both made in one ms: the backlog orders them by id.
    expect(copies.sort()).toEqual(['"b"', '"c"']);
    for (const id of claimed) expect(lastKnown!(id)).toBeUndefined();
  });

  it('a claim in flight holds the slots it asked for: a submit meanwhile waits in the backlog rather than being claimed and given back', async () => {
    const s = setup();
    const first = holding(s, 'w1', 2);
    await s.join(first.w);
    await s.start();
    await s.clock.advance(300);
    for (const v of ['a', 'b', 'c', 'd']) await run(s, s.dispatcher.submit('echo', v));
    // w1 is full; c and d wait. Claims from now on stay in flight until opened.
    const store = s.transport.durableStore();
    const claim = store.claim.bind(store);
    let open: () => void = () => {};
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    vi.spyOn(store, 'claim').mockImplementation(async (...args) => {
      await opened;
      return claim(...args);
    });
    // w2 joins with two free slots: a claim for them goes out, and a submit comes meanwhile.
    const second = holding(s, 'w2', 2);
    await s.join(second.w);
    for (let i = 0; i < 500 && s.dispatcher.workers().length < 2; i++) await s.clock.advance(1);
    await s.clock.advance(150);
    expect(store.claim).toHaveBeenCalled();
    const e = await run(s, s.dispatcher.submit('echo', 'e'));
    open();
    await s.clock.advance(200);
    expect(second.got.map((t) => t.payload)).toEqual(['c', 'd']);
    expect((await run(s, s.dispatcher.task(e)))?.state).toBe('waiting');
    expect(s.dispatcher.stats().durable.released).toBe(0);
  });

  it('result() waiters: a re-read poll that outlasts its interval does not pile up reads', async () => {
    const s = setup();
    await s.start();
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await run(s, s.dispatcher.submit('echo', i)));
    const get = vi.spyOn(s.transport.durableStore(), 'get');
    // Redis answers nothing for 3.5 s: three polls come while every first read is in flight.
    s.redis.stall(3_500);
    const waiting = ids.map((id) => outcome(s.dispatcher.result(id, { timeoutMs: 60_000 })));
    await s.clock.advance(3_600);
    // One read each, and one more each for the polls that came meanwhile.
    expect(get.mock.calls.length).toBeLessThanOrEqual(2 * ids.length);
    expect(waiting.every((w) => !w.settled)).toBe(true);
  });

  it('result() waiters: the periodic look reads no record of a task still waiting, and reads it once it finished (its announcement missed)', async () => {
    const s = setup();
    await s.start();
    const id = await run(s, s.dispatcher.submit('echo', 'x'));
    const waiting = outcome(s.dispatcher.result(id, { timeoutMs: 60_000 }));
    await s.clock.advance(10);
    const store = s.transport.durableStore();
    const get = vi.spyOn(store, 'get');
    const peek = vi.spyOn(store, 'peek');
    await s.clock.advance(3_100);
    expect(peek.mock.calls.length).toBeGreaterThanOrEqual(3);
    expect(get).not.toHaveBeenCalled();
    // Cancelled by a store that announces nothing: only the look can find it.
    const silent = new MemoryStore(s.transport.command!, n, s.clock, () => {});
    const cancelled = { code: ErrorCode.CANCELLED, message: 'by hand' };
    await run(
      s,
      silent.settle(id, undefined, { state: 'cancelled', error: cancelled }, s.clock.now()),
    );
    await s.clock.advance(1_100);
    expect(get).toHaveBeenCalledTimes(1);
    expect(waiting.error?.code).toBe(ErrorCode.CANCELLED);
  });

  it('the backlog runs highest priority first, then oldest, as capacity frees; delayed tasks join when due', async () => {
    const s = setup();
    const { w, got } = holding(s, 'w1', 1);
    await s.join(w);
    await s.start();
    await s.clock.advance(300);
    const first = await run(s, s.dispatcher.submit('echo', 'first'));
    await run(s, s.dispatcher.submit('echo', 'low', { priority: -5 }));
    await run(s, s.dispatcher.submit('echo', 'later', { delayMs: 200, priority: 100 }));
    await run(s, s.dispatcher.submit('echo', 'high', { priority: 5 }));
    await run(s, s.dispatcher.submit('echo', 'mid-1'));
    await run(s, s.dispatcher.submit('echo', 'mid-2'));
    await s.clock.advance(500);
    expect(got.map((t) => t.payload)).toEqual(['first']);
    expect(got[0]!.id).toBe(first);
    for (let i = 0; i < 5; i++) {
      await run(s, w.finish(got[i]!, i));
      for (let j = 0; j < 30 && got.length < i + 2; j++) await s.clock.advance(10);
    }
    expect(got.map((t) => t.payload)).toEqual(['first', 'later', 'high', 'mid-1', 'mid-2', 'low']);
  });

  it('timeoutMs bounds the task once claimed, not its wait in the backlog', async () => {
    const s = setup();
    const { w, got } = holding(s, 'w1', 1);
    await s.join(w);
    await s.start();
    await s.clock.advance(300);
    await run(s, s.dispatcher.submit('echo', 'first'));
    const bounded = await run(s, s.dispatcher.submit('echo', 'bounded', { timeoutMs: 300 }));
    await s.clock.advance(1_000);
    expect((await run(s, s.dispatcher.task(bounded)))?.state).toBe('waiting');
    await run(s, w.finish(got[0]!, 1));
    for (let i = 0; i < 30 && got.length < 2; i++) await s.clock.advance(10);
    expect(got[1]?.id).toBe(bounded);
    await s.clock.advance(400);
    const info = await run(s, s.dispatcher.task(bounded));
    expect(info?.state).toBe('failed');
    expect(info?.error?.code).toBe(ErrorCode.TIMEOUT);
    // Its worker is told this dispatcher gave up: an owner that adopted the task meanwhile keeps the run.
    expect(w.cancelled).toEqual([got[1]!.token]);
    expect(w.cancelledFor).toEqual([s.dispatcher.id]);
    const stats = s.dispatcher.stats();
    const errors = Object.values(stats.settled.error).reduce((a, b) => a + (b ?? 0), 0);
    expect(stats.settled.ok + errors + stats.inflight + stats.queued + stats.delayed).toBe(
      stats.dispatched,
    );
  });

  it('two dispatchers sharing one backlog never run a task twice', async () => {
    const s = setup();
    const runs = new Map<string, number>();
    const answer = (task: TaskMessage) => {
      runs.set(task.id, (runs.get(task.id) ?? 0) + 1);
      return { ok: task.payload };
    };
    await s.join(s.worker('w1', answer, { concurrency: 2, maxQueue: 0 }));
    await s.join(s.worker('w2', answer, { concurrency: 2, maxQueue: 0 }));
    await s.start();
    const other = await second(s, 'd2');
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      const d = i % 2 === 0 ? s.dispatcher : other;
      ids.push(await run(s, d.submit('echo', i)));
    }
    const results = await run(
      s,
      Promise.all(ids.map((id) => s.dispatcher.result(id, { timeoutMs: 20_000 }))),
    );
    expect(results).toEqual(ids.map((_, i) => i));
    expect(runs.size).toBe(60);
    expect([...runs.values()].every((count) => count === 1)).toBe(true);
    const claimed = s.dispatcher.stats().durable.claimed + other.stats().durable.claimed;
    expect(claimed).toBe(60);
    await closeOn(s, other);
  });

  it('maxBacklog: submit rejects QUEUE_FULL once that many tasks wait, writing nothing', async () => {
    const s = setup({ maxBacklog: 2 });
    await s.start();
    await run(s, s.dispatcher.submit('echo', 1));
    await run(s, s.dispatcher.submit('echo', 2, { delayMs: 1_000 }));
    const error = await rejection(s, s.dispatcher.submit('echo', 3));
    expect(error.code).toBe(ErrorCode.QUEUE_FULL);
    const keys = await run(
      s,
      s.transport.command!.command((r) => taskKeys(r.keys())),
    );
    expect(keys).toHaveLength(2);
    expect(s.dispatcher.stats().rejected.QUEUE_FULL).toBe(1);
  });

  it('cancel: waiting and delayed at once, active through its owner (the worker gets the cancel), finished or unknown false', async () => {
    const s = setup();
    const { w, got } = holding(s, 'w1', 1);
    await s.join(w);
    await s.start();
    const other = await second(s, 'd2');
    await s.clock.advance(300);
    const active = await run(s, s.dispatcher.submit('echo', 'a'));
    const waiting = await run(s, s.dispatcher.submit('echo', 'b'));
    const delayed = await run(s, s.dispatcher.submit('echo', 'c', { delayMs: 60_000 }));
    await s.clock.advance(50);
    expect(got.map((t) => t.id)).toEqual([active]);
    const waitingResult = outcome(s.dispatcher.result(waiting));

    expect(await run(s, other.cancel(waiting))).toBe(true);
    expect(await run(s, other.cancel(delayed))).toBe(true);
    expect((await run(s, s.dispatcher.task(waiting)))?.state).toBe('cancelled');
    expect((await run(s, s.dispatcher.task(delayed)))?.error?.code).toBe(ErrorCode.CANCELLED);
    for (let i = 0; i < 20 && !waitingResult.settled; i++) await s.clock.advance(10);
    expect(waitingResult.error?.code).toBe(ErrorCode.CANCELLED);

    // Active on d1, cancelled from d2: d1 hears it on the cancel channel.
    expect(await run(s, other.cancel(active))).toBe(true);
    await s.clock.advance(50);
    expect(w.cancelled).toEqual([got[0]!.token]);
    // cancel(id) names no sender: a run that also answers another dispatcher stops too.
    expect(w.cancelledFor).toEqual([undefined]);
    const info = await run(s, s.dispatcher.task(active));
    expect(info?.state).toBe('cancelled');
    expect(info?.error?.code).toBe(ErrorCode.CANCELLED);

    expect(await run(s, other.cancel(active))).toBe(false);
    expect(await run(s, other.cancel('no-such-task'))).toBe(false);
    await closeOn(s, other);
  });

  it("a stale owner's terminal write is dropped and counted; callers get the real outcome", async () => {
    const s = setup();
    const { w, got } = holding(s);
    await s.join(w);
    await s.start();
    const id = await run(s, s.dispatcher.submit('echo', 1));
    await s.clock.advance(20);
    expect(got).toHaveLength(1);
    // Another dispatcher took the task over (as adoption would while d1 was paused).
    const admin = s.redis.connect('admin');
    await run(
      s,
      admin.command((r) => r.hset(n.taskKey(id), 'owner', 'd9')),
    );
    const waiting = outcome(s.dispatcher.result(id, { timeoutMs: 10_000 }));
    await run(s, w.finish(got[0]!, 'late'));
    await s.clock.advance(50);
    expect(s.dispatcher.stats().durable.staleSettles).toBe(1);
    const record = await run(s, s.dispatcher.task(id));
    expect(record?.state).toBe('active');
    expect(waiting.settled).toBe(false);
    // The real owner's outcome reaches the waiter.
    const store = new MemoryTransport(s.redis);
    await run(s, store.open({ id: 'd9', names: n }, silentEvents));
    const settled = await run(
      s,
      store.durableStore().settle(id, 'd9', { state: 'succeeded', result: 'real' }, s.clock.now()),
    );
    expect(settled.kind).toBe('settled');
    for (let i = 0; i < 20 && !waiting.settled; i++) await s.clock.advance(10);
    expect(waiting.value).toBe('real');
    await store.close();
  });

  it('a task whose next attempt the store refuses (another owner) is dropped locally, counted, and its worker not told', async () => {
    const s = setup();
    const got: TaskMessage[] = [];
    // The first attempt goes unanswered, so a second one is sent after the ack timeout.
    const w = s.worker('w1', (task) => {
      got.push(task);
      return got.length === 1 ? 'silent' : 'ack';
    });
    await s.join(w);
    await s.start();
    const id = await run(s, s.dispatcher.submit('echo', 'a'));
    await s.clock.advance(20);
    expect(got).toHaveLength(1);
    const admin = s.redis.connect('admin');
    await run(
      s,
      admin.command((r) => r.hset(n.taskKey(id), 'owner', 'd9')),
    );
    await s.clock.advance(700);
    expect(got).toHaveLength(2);
    expect(s.dispatcher.stats().durable.dropped).toBe(1);
    // Its worker hears that d1 gave up on the attempt, naming d1: a run the owner sent too goes on.
    expect(w.cancelled).toEqual([got[1]!.token]);
    expect(w.cancelledFor).toEqual(['d1']);
    const record = await run(s, s.dispatcher.task(id));
    // Not written by d1: still d9's, as d9 left it.
    expect(record?.state).toBe('active');
    expect(record?.attempts).toBe(1);
    expect(s.dispatcher.stats().inflight).toBe(0);
  });

  describe("a run its worker stopped on another dispatcher's cancel", () => {
    const cancelAbort = {
      name: 'WorkerError',
      message: 'the task was cancelled',
      retryable: false,
      code: ErrorCode.CANCELLED,
    };

    /** A task running on a holding worker, and a connection to change its record by hand. */
    async function running(s: ReturnType<typeof setup>) {
      const { w, got } = holding(s);
      await s.join(w);
      await s.start();
      const id = await run(s, s.dispatcher.submit('echo', 'x'));
      await s.clock.advance(20);
      expect(got).toHaveLength(1);
      return { w, got, id, admin: s.redis.connect('admin') };
    }

    it('still ours: is a lost attempt, and the next one runs', async () => {
      const s = setup();
      const { w, got, id } = await running(s);
      await run(s, w.fail(got[0]!, cancelAbort));
      for (let i = 0; i < 20 && got.length < 2; i++) await s.clock.advance(10);
      expect(got[1]).toMatchObject({ id, attempt: 2 });
      await run(s, w.finish(got[1]!, 'done'));
      await s.clock.advance(20);
      expect(await run(s, s.dispatcher.task(id))).toMatchObject({
        state: 'succeeded',
        result: 'done',
        attempts: 2,
      });
    });

    it("another owner's now: dropped here, not run again, the record left to its owner", async () => {
      const s = setup();
      const { w, got, id, admin } = await running(s);
      await run(
        s,
        admin.command((r) => r.hset(n.taskKey(id), 'owner', 'd9')),
      );
      await run(s, w.fail(got[0]!, cancelAbort));
      await s.clock.advance(200);
      expect(got).toHaveLength(1);
      expect(s.dispatcher.stats().durable.dropped).toBe(1);
      expect(s.dispatcher.stats().inflight).toBe(0);
      expect(await run(s, s.dispatcher.task(id))).toMatchObject({ state: 'active', attempts: 1 });
    });

    it('cancel requested: the task ends CANCELLED, not run again', async () => {
      const s = setup();
      const { w, got, id, admin } = await running(s);
      await run(
        s,
        admin.command((r) => r.hset(n.taskKey(id), 'cancel', '1')),
      );
      await run(s, w.fail(got[0]!, cancelAbort));
      await s.clock.advance(200);
      expect(got).toHaveLength(1);
      const info = await run(s, s.dispatcher.task(id));
      expect(info?.state).toBe('cancelled');
      expect(info?.error?.code).toBe(ErrorCode.CANCELLED);
    });
  });

  it('close() gives active tasks back to the backlog; another dispatcher finishes them; the local caller gets CLOSED', async () => {
    const s = setup();
    const { w } = holding(s, 'w1', 2);
    await s.join(w);
    await s.start();
    const local = outcome(s.dispatcher.dispatch('echo', 'x', { durable: true }));
    await s.clock.advance(50);
    const [id] = await run(
      s,
      s.transport.command!.command((r) => taskKeys(r.keys())),
    );
    const taskId = id!.slice(`${NS}:task:`.length);
    expect((await run(s, s.dispatcher.task(taskId)))?.state).toBe('active');
    await run(s, s.dispatcher.close());
    expect(local.error?.code).toBe(ErrorCode.CLOSED);
    expect(s.dispatcher.stats().durable.released).toBe(1);
    const admin = s.redis.connect('admin');
    expect(
      await run(
        s,
        admin.command((r) => r.hget(n.taskKey(taskId), 'state')),
      ),
    ).toBe('waiting');

    w.close();
    await s.join(s.worker('w2', (task) => ({ ok: `again ${String(task.payload)}` })));
    const other = await second(s, 'd2');
    await expect(run(s, other.result(taskId, { timeoutMs: 10_000 }))).resolves.toBe('again x');
    await closeOn(s, other);
  });

  it('maxWaitMs: a task no dispatcher claimed in time fails EXPIRED', async () => {
    const s = setup();
    await s.start();
    const id = await run(s, s.dispatcher.submit('echo', 1, { maxWaitMs: 500 }));
    const waiting = outcome(s.dispatcher.result(id, { timeoutMs: 10_000 }));
    await s.clock.advance(300);
    expect((await run(s, s.dispatcher.task(id)))?.state).toBe('waiting');
    await s.clock.advance(1_500);
    const info = await run(s, s.dispatcher.task(id));
    expect(info?.state).toBe('failed');
    expect(info?.error?.code).toBe(ErrorCode.EXPIRED);
    for (let i = 0; i < 20 && !waiting.settled; i++) await s.clock.advance(10);
    expect(waiting.error?.code).toBe(ErrorCode.EXPIRED);
  });

  it('resultTtlMs: the finished record is gone after it, and result() then rejects INVALID_OPTIONS', async () => {
    const s = setup();
    await s.join(s.worker('w1', (task) => ({ ok: task.payload })));
    await s.start();
    const id = await run(s, s.dispatcher.submit('echo', 1, { resultTtlMs: 1_000 }));
    await expect(run(s, s.dispatcher.result(id))).resolves.toBe(1);
    await s.clock.advance(500);
    expect((await run(s, s.dispatcher.task(id)))?.state).toBe('succeeded');
    await s.clock.advance(600);
    expect(await run(s, s.dispatcher.task(id))).toBeUndefined();
    const error = await rejection(s, s.dispatcher.result(id));
    expect(error.code).toBe(ErrorCode.INVALID_OPTIONS);
  });

  it('bad arguments reject with typed errors and write nothing', async () => {
    const s = setup();
    await s.join(s.worker('w1', (task) => ({ ok: task.payload })));
    await s.start();
    const d = s.dispatcher;
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => d.submit('', 1), ErrorCode.UNKNOWN_HANDLER],
      [() => d.submit('nope', 1), ErrorCode.UNKNOWN_HANDLER],
      [() => d.submit('echo', 1n as unknown), ErrorCode.INVALID_MESSAGE],
      [() => d.submit('echo', 1, { priority: 5_000 }), ErrorCode.INVALID_OPTIONS],
      [() => d.submit('echo', 1, { resultTtlMs: 0 }), ErrorCode.INVALID_OPTIONS],
      [() => d.submit('echo', 1, { maxWaitMs: -1 }), ErrorCode.INVALID_OPTIONS],
      [() => d.submit('echo', 1, { delayMs: 5, runAt: 5 }), ErrorCode.INVALID_OPTIONS],
      [
        () => d.submit('echo', 1, { signal: new AbortController().signal } as never),
        ErrorCode.INVALID_OPTIONS,
      ],
      [() => d.submit('echo', 1, { bogus: 1 } as never), ErrorCode.INVALID_OPTIONS],
      [() => d.submit('echo', 1, [] as never), ErrorCode.INVALID_OPTIONS],
      [() => d.dispatch('echo', 1, [] as never), ErrorCode.INVALID_OPTIONS],
      [() => d.dispatch('echo', 1, { durable: 'yes' } as never), ErrorCode.INVALID_OPTIONS],
      [() => d.dispatch('echo', 1, { resultTtlMs: 5 } as never), ErrorCode.INVALID_OPTIONS],
      [() => d.result('not a valid id!'), ErrorCode.INVALID_OPTIONS],
      [() => d.result('unknown-id'), ErrorCode.INVALID_OPTIONS],
      [() => d.result('unknown-id', { timeoutMs: -1 }), ErrorCode.INVALID_OPTIONS],
      [() => d.task('../x'), ErrorCode.INVALID_OPTIONS],
      [() => d.cancel(''), ErrorCode.INVALID_OPTIONS],
    ];
    for (const [call, code] of cases) expect((await rejection(s, call())).code).toBe(code);
    const keys = await run(
      s,
      s.transport.command!.command((r) => taskKeys(r.keys())),
    );
    expect(keys).toEqual([]);
    expect(() => setup({ ownerHeartbeatMs: 10 })).toThrow(/ownerHeartbeatMs/);
    expect(() => setup({ maxBacklog: -1 })).toThrow(/maxBacklog/);
  });

  it('every dispatcher registers and beats as an owner from start, and leaves on close', async () => {
    const s = setup({ ownerHeartbeatMs: 100 });
    await s.start();
    const admin = s.redis.connect('admin');
    const ttl = await run(
      s,
      admin.command((r) => r.pttl(n.dispatcherHeartbeatKey('d1'))),
    );
    expect(ttl).toBeGreaterThan(200);
    expect(ttl).toBeLessThanOrEqual(300);
    await s.clock.advance(1_000);
    expect(
      await run(
        s,
        admin.command((r) => r.pttl(n.dispatcherHeartbeatKey('d1'))),
      ),
    ).toBeGreaterThan(100);
    await run(s, s.dispatcher.close());
    expect(
      await run(
        s,
        admin.command((r) => r.pttl(n.dispatcherHeartbeatKey('d1'))),
      ),
    ).toBe(-2);
    expect(
      await run(
        s,
        admin.command((r) => r.hget(n.dispatchersKey, 'd1')),
      ),
    ).toBeNull();
  });

  it('leaves a backlog task whose handler has no worker with room in the backlog, even while other workers have room', async () => {
    const s = setup();
    const echo = s.worker('w1', () => 'ack', { concurrency: 4, handlers: ['echo'] });
    const other = s.worker('w2', () => 'ack', { concurrency: 1, handlers: ['other'] });
    await s.join(echo);
    await s.join(other);
    await s.start();
    await s.clock.advance(300);
    // w2's one slot is taken; w1 has room, but not for this handler.
    await run(s, s.dispatcher.submit('other', 'A', { timeoutMs: 60_000 }));
    await s.clock.advance(50);
    const b = await run(s, s.dispatcher.submit('other', 'B', { timeoutMs: 2_000 }));
    await s.clock.advance(5_000);
    // Not claimed and left to time out in the local queue: it never reached a worker.
    expect((await run(s, s.dispatcher.task(b)))?.state).toBe('waiting');
  });

  it('a submit whose write the client sent twice (re-sent after a reconnect) resolves with its id and runs once', async () => {
    const s = setup();
    const { w, got } = holding(s, 'w1', 1);
    await s.join(w);
    await s.start();
    await s.clock.advance(300);
    const twice = async (payload: string) => {
      const submitted = s.dispatcher.submit('echo', payload);
      s.transport.command!.drop('twice');
      await s.clock.advance(100);
      s.transport.command!.restore();
      return run(s, submitted);
    };
    // With room it is claimed at submit; then the one slot is taken, and the next waits.
    const claimed = await twice('claimed');
    const waiting = await twice('waiting');
    await s.clock.advance(300);
    expect(got.map((t) => t.id)).toEqual([claimed]);
    expect((await run(s, s.dispatcher.task(waiting)))?.state).toBe('waiting');
    await run(s, w.finish(got[0]!, 1));
    for (let i = 0; i < 50 && got.length < 2; i++) await s.clock.advance(10);
    expect(got.map((t) => t.id)).toEqual([claimed, waiting]);
    await run(s, w.finish(got[1]!, 2));
    await expect(run(s, s.dispatcher.result(waiting))).resolves.toBe(2);
    await expect(run(s, s.dispatcher.result(claimed))).resolves.toBe(1);
  });

  it('a durable dispatch whose write finishes after close() rejects CLOSED rather than waiting for ever', async () => {
    const s = setup();
    const w = s.worker('w1', (t: TaskMessage) => ({ ok: t.payload }));
    await s.join(w);
    await s.start();
    await s.clock.advance(300);
    const store = s.transport.durableStore();
    const add = store.add.bind(store);
    store.add = (record, options) =>
      add(record, options).then(
        (v) => new Promise((resolve) => s.clock.setTimeout(() => resolve(v), 3_000)),
      );
    const p = outcome(s.dispatcher.dispatch('echo', 1, { durable: true }));
    const closed = s.dispatcher.close();
    await s.clock.advance(2_000);
    await closed;
    await s.clock.advance(5_000);
    expect(p.settled).toBe(true);
    expect(p.error?.code).toBe(ErrorCode.CLOSED);
  });
});

const silentEvents = {
  message: () => {},
  subscriberReady: () => {},
  commandRestored: () => {},
  error: () => {},
};

function taskKeys(keys: string[]): string[] {
  return keys.filter((key) => key.startsWith(n.taskKeyPrefix));
}
