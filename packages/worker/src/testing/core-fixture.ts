/**
 * A fixture for unit tests of the worker core on the in-memory transport and
 * a virtual clock: no Redis, no sleeps. A fake dispatcher publishes frames with
 * protocol's encoders on a MemoryRedis connection of its own and reads the
 * replies and control messages. Test-only: excluded from the build.
 */
import {
  decode,
  encode,
  FrameSealer,
  MemoryRedis,
  type Message,
  type Names,
  names,
  parseAuthOptions,
  type TaskMessage,
  VirtualClock,
} from '@ringcast/protocol';
import { expect } from 'vitest';
import { MemoryWorkerTransport } from '../memory-transport.js';
import type { Handler, HandlerContext, WorkerOptions } from '../options.js';
import { createWorkerCore, type Worker } from '../worker.js';

export const NS = 'unit';
export const n: Names = names(NS);
export const ID = 'w1';
export const DISPATCHER = 'd1';
export const TICK = 1;

/** A handler whose runs the test finishes by hand. */
export function manual() {
  const runs: Array<{
    payload: unknown;
    ctx: HandlerContext;
    resolve: (v: unknown) => void;
    reject: (e: unknown) => void;
  }> = [];
  const handler: Handler = (payload, ctx) =>
    new Promise((resolve, reject) => {
      runs.push({ payload, ctx, resolve, reject });
    });
  return { runs, handler };
}

const open: Worker[] = [];

/** For an `afterEach`: no worker a test made still runs a handler. */
export function expectWorkersIdle(): void {
  const busy = open.filter((w) => w.stats().inflight > 0);
  open.length = 0;
  expect(busy).toEqual([]);
}

/** Options of the worker under test besides its handlers; `transport` replaces the memory one. */
export type SetupOptions = Omit<Partial<WorkerOptions>, 'handlers'> & {
  transport?: (redis: MemoryRedis) => MemoryWorkerTransport;
};

/** A worker core (not started) with handlers, a fake dispatcher beside it, and a virtual clock. */
export async function setup(handlers: Record<string, Handler>, options: SetupOptions = {}) {
  const { transport: makeTransport, ...workerOptions } = options;
  const clock = new VirtualClock();
  const redis = new MemoryRedis(clock);
  const transport = makeTransport?.(redis) ?? new MemoryWorkerTransport(redis, n, ID);
  const worker = createWorkerCore(
    { id: ID, namespace: NS, handlers, logger: false, ...workerOptions },
    transport,
  );
  open.push(worker);
  const peer = redis.connect('dispatcher');
  const replies: Message[] = [];
  const control: Message[] = [];
  // With `auth`, the fake dispatcher signs and opens as a real one does.
  const sealer = workerOptions.auth && new FrameSealer(parseAuthOptions(workerOptions.auth));
  /** `frame` sealed for `channel` at `at` (now by default), as the fake dispatcher sends it. */
  const seal = (channel: string, frame: string, at = clock.now()): string =>
    sealer ? sealer.seal(channel, frame, at) : frame;
  peer.onMessage((channel, data) => {
    let body = data;
    if (sealer) {
      const opened = sealer.open(channel, data, clock.now());
      if (typeof opened === 'string')
        throw new Error(`the worker sent a frame that fails: ${opened}`);
      body = opened.body;
    }
    const decoded = decode(body);
    if (!decoded.ok) throw decoded.error;
    (channel === n.controlChannel ? control : replies).push(...decoded.messages);
  });
  await settle(clock, peer.subscribe([n.replyChannel(DISPATCHER), n.controlChannel]));

  /** Runs the clock until `promise` settles (events due meanwhile run in order). */
  async function settle<T>(c: VirtualClock, promise: Promise<T>): Promise<T> {
    let done = false;
    const watched = promise.finally(() => {
      done = true;
    });
    // Observed here, so a rejection is not reported unhandled while the clock runs.
    watched.catch(() => undefined);
    await c.runUntil(c.now() + 60_000, () => done);
    return watched;
  }

  let seq = 0;
  function task(fields: Partial<TaskMessage> = {}): TaskMessage {
    seq++;
    return {
      kind: 'task',
      id: `t${seq}`,
      attempt: 1,
      token: `tok${seq}`,
      handler: 'job',
      payload: { seq },
      deadline: clock.now() + 10_000,
      replyTo: DISPATCHER,
      ...fields,
    };
  }

  return {
    clock,
    redis,
    transport,
    worker,
    peer,
    replies,
    control,
    task,
    settle: <T>(promise: Promise<T>) => settle(clock, promise),
    seal,
    /** Publishes messages to the worker as one frame (sealed with `auth`) and lets a few turns pass. */
    send: async (...messages: Message[]) => {
      const channel = n.workerChannel(ID);
      await settle(clock, peer.publish(channel, seal(channel, encode(messages))));
      await clock.advance(TICK);
    },
    /** Publishes `frame` to the worker exactly as given and lets a few turns pass. */
    sendRaw: async (frame: string) => {
      await settle(clock, peer.publish(n.workerChannel(ID), frame));
      await clock.advance(TICK);
    },
    kinds: () => replies.map((m) => (m.kind === 'nack' ? `nack:${m.reason}` : m.kind)),
  };
}
