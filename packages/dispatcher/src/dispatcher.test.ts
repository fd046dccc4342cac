/**
 * The dispatcher core on the in-memory transport: no Redis, no sleeps. Time is
 * a VirtualClock; workers are fakes that talk to the dispatcher through
 * MemoryRedis connections with the protocol's own encoders, so each test
 * decides exactly when an ack, a result or a connection goes missing.
 */
import {
  decode,
  ErrorCode,
  encodeCompactAck,
  encodeCompactOk,
  encodeFrame,
  type MemoryConnection,
  MemoryRedis,
  names,
  type TaskMessage,
  VirtualClock,
  type WorkerInfo,
} from '@ringcast/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createDispatcherCore, type Dispatcher } from './dispatcher.js';
import type { DispatchError } from './errors.js';
import { MemoryTransport } from './memory-transport.js';
import type { DispatcherOptions } from './options.js';

const NS = 'unit';
const n = names(NS);

/** What a fake worker does with an attempt it receives. */
type Script = (task: TaskMessage) => 'ack' | 'silent' | { ok: unknown };

/**
 * A hand-made worker: a registry entry, a heartbeat, a subscription, and
 * replies a script decides. Like a real worker it parks a reply nobody heard,
 * and answers a re-sent attempt it already finished from its record.
 */
class FakeWorker {
  readonly received: TaskMessage[] = [];
  readonly cancelled: string[] = [];
  readonly info: WorkerInfo;
  readonly command: MemoryConnection;
  readonly subscriber: MemoryConnection;
  /** Replies of finished attempts, by token. */
  readonly #finished = new Map<string, string>();
  readonly #script: Script;

  constructor(redis: MemoryRedis, id: string, script: Script, extra: Partial<WorkerInfo> = {}) {
    this.info = {
      id,
      incarnation: `inc-${id}`,
      weight: 1,
      concurrency: 4,
      maxQueue: 0,
      heartbeatTtlMs: 60_000,
      maxMessageBytes: 1024 * 1024,
      handlers: ['echo'],
      host: 'test',
      pid: 1,
      version: '0',
      startedAt: 0,
      ...extra,
    };
    this.#script = script;
    this.command = redis.connect(`worker:${id}`);
    this.subscriber = redis.connect(`worker:${id}:sub`);
    this.subscriber.onMessage((_channel, frame) => this.#onFrame(frame));
  }

  /** Registers and beats; subscribes unless told not to (then nobody hears its channel). */
  async start(subscribe = true): Promise<void> {
    const { id, incarnation } = this.info;
    if (subscribe) await this.subscriber.subscribe([n.workerChannel(id)]);
    await this.command.command((redis) => {
      redis.hset(n.registryKey, id, JSON.stringify(this.info));
      redis.set(n.heartbeatKey(id), incarnation, { px: this.info.heartbeatTtlMs });
    });
  }

  /** Finishes `task` with `value`, as the handler returning it; resolves once Redis took the reply. */
  finish(task: TaskMessage, value: unknown): Promise<number> {
    const reply = encodeCompactOk(task.id, task.token, JSON.stringify(value));
    this.#finished.set(task.token, reply);
    return this.#reply(task.replyTo, reply);
  }

  #onFrame(frame: string): void {
    const decoded = decode(frame, { maxBytes: 1024 * 1024 });
    if (!decoded.ok) throw new Error(`the dispatcher sent an invalid frame: ${frame}`);
    for (const message of decoded.messages) {
      if (message.kind === 'cancel') this.cancelled.push(message.token);
      if (message.kind !== 'task') continue;
      this.received.push(message);
      const done = this.#finished.get(message.token);
      if (done !== undefined) {
        void this.#reply(message.replyTo, done);
        continue;
      }
      const reply = this.#script(message);
      if (reply === 'silent') continue;
      void this.#reply(message.replyTo, encodeCompactAck(message.id, message.token));
      if (reply !== 'ack') void this.finish(message, reply.ok);
    }
  }

  /** Publishes a reply; parks it, as a worker does, when nobody was subscribed. */
  #reply(dispatcher: string, encoded: string): Promise<number> {
    const { id, incarnation } = this.info;
    const frame = encodeFrame([encoded], { worker: id, incarnation });
    const published = this.command.publish(n.replyChannel(dispatcher), frame);
    void published.then((receivers) => {
      if (receivers === 0) {
        void this.command.command((redis) => redis.rpush(n.parkedKey(dispatcher), [frame]));
      }
    });
    return published;
  }
}

/** A promise's outcome, observed without leaving a rejection unhandled. */
function outcome<T>(promise: Promise<T>) {
  const seen: { value?: T; error?: DispatchError; settled: boolean } = { settled: false };
  promise.then(
    (value) => Object.assign(seen, { value, settled: true }),
    (error: DispatchError) => Object.assign(seen, { error, settled: true }),
  );
  return seen;
}

let cleanup: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const close of cleanup) await close();
  cleanup = [];
});

async function setup(options: DispatcherOptions = {}) {
  const clock = new VirtualClock();
  const redis = new MemoryRedis(clock);
  const transport = new MemoryTransport(redis);
  const dispatcher: Dispatcher = createDispatcherCore(transport, {
    namespace: NS,
    id: 'd1',
    logger: false,
    timeoutMs: 5_000,
    ackTimeoutMs: 500,
    reconcileIntervalMs: 200,
    drainTimeoutMs: 1_000,
    ...options,
  });
  cleanup.push(async () => {
    const closed = dispatcher.close();
    await clock.advance(2_000);
    await closed;
  });
  const worker = (id: string, script: Script, extra?: Partial<WorkerInfo>) =>
    new FakeWorker(redis, id, script, extra);
  /** Registers (and subscribes) a fake worker, letting the clock apply its commands. */
  const join = async (w: FakeWorker, subscribe = true) => {
    const joined = w.start(subscribe);
    await clock.advance(0);
    await joined;
  };
  const start = async () => {
    const started = dispatcher.start();
    await clock.advance(0);
    await started;
  };
  return { clock, redis, transport, dispatcher, worker, join, start };
}

describe('dispatcher core on the memory transport', () => {
  it('sends a task to a worker and settles with its result', async () => {
    const { clock, dispatcher, worker, join, start } = await setup();
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

  it('sends a new attempt elsewhere when the ack does not come', async () => {
    const { clock, dispatcher, worker, join, start } = await setup();
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
    const { clock, dispatcher, worker, join, start } = await setup({ maxAttempts: 1 });
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

  it('collects a reply parked while its subscriber connection was down', async () => {
    const { clock, transport, dispatcher, worker, join, start } = await setup();
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
    const { clock, redis, transport, dispatcher, worker, join, start } = await setup();
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

  it('rejects TIMEOUT at the deadline and cancels the attempt on its worker', async () => {
    const { clock, dispatcher, worker, join, start } = await setup();
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
    const { clock, dispatcher, start } = await setup();
    await start();
    const result = outcome(dispatcher.dispatch('echo', null, { timeoutMs: 300 }));
    await clock.advance(320);
    expect(result.error?.code).toBe(ErrorCode.NO_WORKERS);
    expect(dispatcher.stats()).toMatchObject({ dispatched: 1, queued: 0, inflight: 0 });
  });

  it('close() waits for work in flight, rejects what is left CLOSED, and leaves nothing running', async () => {
    const { clock, redis, transport, dispatcher, worker, join, start } = await setup({
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

  it('takes a worker whose heartbeat lapsed for dead, sends its attempts elsewhere and prunes its entry', async () => {
    const { clock, redis, dispatcher, worker, join, start } = await setup();
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
});

describe('MemoryTransport', () => {
  it('prunes only entries still as read whose heartbeat is still absent', async () => {
    const clock = new VirtualClock();
    const redis = new MemoryRedis(clock);
    const transport = new MemoryTransport(redis);
    const events = {
      message() {},
      subscriberReady() {},
      commandRestored() {},
      error() {},
    };
    await transport.open({ id: 'd', names: n }, events);
    redis.hset(n.registryKey, 'gone', 'E1');
    redis.hset(n.registryKey, 'back', 'E2');
    redis.set(n.heartbeatKey('back'), 'inc');
    redis.hset(n.registryKey, 'rewritten', 'new');
    redis.hset(n.registryKey, 'bad id!', '{}');
    const pruned = transport.prune([
      { field: 'gone', entry: 'E1', id: 'gone' },
      { field: 'back', entry: 'E2', id: 'back' },
      { field: 'rewritten', entry: 'old', id: 'rewritten' },
      { field: 'bad id!', entry: '{}', id: undefined },
    ]);
    await clock.advance(0);
    expect(await pruned).toBe(2);
    expect(Object.keys(redis.hgetall(n.registryKey)).sort()).toEqual(['back', 'rewritten']);
    await transport.close();
  });

  it('answers MAYBE_HEARD for a publish in flight when the command connection drops', async () => {
    const clock = new VirtualClock();
    const redis = new MemoryRedis(clock);
    const transport = new MemoryTransport(redis);
    const events = {
      message() {},
      subscriberReady() {},
      commandRestored() {},
      error() {},
    };
    await transport.open({ id: 'd', names: n }, events);
    const heard = transport.publish('x', 'frame');
    transport.command!.drop(true);
    expect(await heard).toBe(-1);
    transport.command!.restore();
    const unheard = transport.publish('x', 'frame');
    await clock.advance(0);
    expect(await unheard).toBe(0);
    await transport.close();
  });
});
