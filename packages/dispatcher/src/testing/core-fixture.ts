/**
 * A fixture for unit tests of the dispatcher core on the in-memory transport:
 * no Redis, no sleeps. Time is a VirtualClock; workers are fakes that talk to
 * the dispatcher through MemoryRedis connections with the protocol's own
 * encoders, so a test decides exactly when an ack, a result or a connection
 * goes missing. Test-only: excluded from the build.
 */
import {
  type AuthOptions,
  type Clock,
  decode,
  encodeCompactAck,
  encodeCompactError,
  encodeCompactOk,
  encodeFrame,
  encodeMessage,
  FrameSealer,
  type MemoryConnection,
  MemoryRedis,
  memoryBeat,
  memoryLogChange,
  type NackReason,
  names,
  parseAuthOptions,
  type RemoteError,
  type TaskMessage,
  VirtualClock,
  type WorkerInfo,
} from '@ringcast/protocol';
import { createDispatcherCore, type Dispatcher } from '../dispatcher.js';
import type { DispatchError } from '../errors.js';
import { MemoryTransport } from '../memory-transport.js';
import type { DispatcherOptions } from '../options.js';

export const NS = 'unit';
export const n = names(NS);

/** What a fake worker does with an attempt it receives. */
export type Reply =
  | 'ack'
  | 'silent'
  | { ok: unknown }
  | { error: RemoteError }
  | { nack: NackReason };
export type Script = (task: TaskMessage) => Reply;

/** Seals and opens a fake worker's frames when the test runs with frame authentication. */
export interface FakeAuth {
  readonly sealer: FrameSealer;
  readonly clock: Clock;
}

/** The frame authentication of fake workers for `auth`, on `clock`; undefined for none. */
export function fakeAuth(auth: AuthOptions | undefined, clock: Clock): FakeAuth | undefined {
  return auth && { sealer: new FrameSealer(parseAuthOptions(auth)), clock };
}

/**
 * A hand-made worker: a registry entry, a heartbeat, a subscription, and
 * replies a script decides. Like a real worker it parks a reply nobody heard,
 * and answers a re-sent attempt it already finished from its record. With
 * `auth` it signs what it sends and opens what it hears, as a real one does.
 */
export class FakeWorker {
  readonly received: TaskMessage[] = [];
  readonly cancelled: string[] = [];
  /** The dispatcher each cancel named as giving up (undefined: a cancel for all), in order. */
  readonly cancelledFor: Array<string | undefined> = [];
  readonly info: WorkerInfo;
  readonly command: MemoryConnection;
  readonly subscriber: MemoryConnection;
  /** Replies of finished attempts, by token. */
  readonly #finished = new Map<string, string>();
  readonly #script: Script;
  readonly #auth: FakeAuth | undefined;

  constructor(
    redis: MemoryRedis,
    id: string,
    script: Script,
    extra: Partial<WorkerInfo> = {},
    auth?: FakeAuth,
  ) {
    this.#auth = auth;
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
    this.subscriber.onMessage((channel, frame) => this.#onFrame(this.#open(channel, frame)));
  }

  /** `body` sealed for `channel` as this worker's frames are (as it is without auth). */
  seal(channel: string, body: string): string {
    const auth = this.#auth;
    return auth ? auth.sealer.seal(channel, body, auth.clock.now()) : body;
  }

  #open(channel: string, frame: string): string {
    const auth = this.#auth;
    if (auth === undefined) return frame;
    const opened = auth.sealer.open(channel, frame, auth.clock.now());
    if (typeof opened === 'string')
      throw new Error(`the dispatcher sent a frame that fails: ${opened}`);
    return opened.body;
  }

  /** Registers and beats; subscribes unless told not to (then nobody hears its channel). */
  async start(subscribe = true): Promise<void> {
    const { id } = this.info;
    if (subscribe) await this.subscriber.subscribe([n.workerChannel(id)]);
    await this.beat();
  }

  /**
   * Writes its heartbeat (its incarnation, then what its loop reports: `;b=2000`
   * blocked 2 s) with its entry, as a worker's beat does (protocol's registry-log.ts).
   */
  async beat(report = ''): Promise<boolean> {
    const { id, incarnation, heartbeatTtlMs } = this.info;
    await this.command.command((redis) =>
      memoryBeat(
        redis,
        { ...n, heartbeatKey: n.heartbeatKey(id) },
        id,
        JSON.stringify(this.info),
        incarnation + report,
        heartbeatTtlMs,
      ),
    );
    return true;
  }

  /** Says hello; `reweight` marks one whose only news is its weight, as a reweighed worker's. */
  hello(reweight = false): Promise<number> {
    const worker = { ...this.info };
    const frame = encodeFrame([
      encodeMessage(
        reweight ? { kind: 'hello', worker, reweight: true } : { kind: 'hello', worker },
      ),
    ]);
    return this.command.publish(n.controlChannel, this.seal(n.controlChannel, frame));
  }

  /** Rewrites its registry entry (logging the change), as its heartbeat does, without a hello. */
  async register(): Promise<void> {
    const { id } = this.info;
    await this.command.command((redis) => {
      const entry = JSON.stringify(this.info);
      if (redis.hget(n.registryKey, id) === entry) return;
      redis.hset(n.registryKey, id, entry);
      memoryLogChange(redis, n, id);
    });
  }

  /** Says goodbye on the control channel, as a draining worker does. */
  leave(): Promise<number> {
    const { id, incarnation } = this.info;
    const frame = encodeFrame([encodeMessage({ kind: 'leave', id, incarnation })]);
    return this.command.publish(n.controlChannel, this.seal(n.controlChannel, frame));
  }

  /** Finishes `task` with `value`, as the handler returning it; resolves once Redis took the reply. */
  finish(task: TaskMessage, value: unknown): Promise<number> {
    const reply = encodeCompactOk(task.id, task.token, JSON.stringify(value));
    this.#finished.set(task.token, reply);
    return this.#reply(task.replyTo, reply);
  }

  /** Fails `task` with `error`, as the handler throwing it; resolves once Redis took the reply. */
  fail(task: TaskMessage, error: RemoteError): Promise<number> {
    const reply = encodeCompactError(task.id, task.token, error);
    this.#finished.set(task.token, reply);
    return this.#reply(task.replyTo, reply);
  }

  close(): void {
    this.command.close();
    this.subscriber.close();
  }

  #onFrame(frame: string): void {
    const decoded = decode(frame, { maxBytes: 1024 * 1024 });
    if (!decoded.ok) throw new Error(`the dispatcher sent an invalid frame: ${frame}`);
    for (const message of decoded.messages) {
      if (message.kind === 'cancel') {
        this.cancelled.push(message.token);
        this.cancelledFor.push(message.from);
      }
      if (message.kind !== 'task') continue;
      this.received.push(message);
      const done = this.#finished.get(message.token);
      if (done !== undefined) {
        void this.#reply(message.replyTo, done);
        continue;
      }
      const reply = this.#script(message);
      if (reply === 'silent') continue;
      if (typeof reply === 'object' && 'nack' in reply) {
        const nack = encodeMessage({
          kind: 'nack',
          id: message.id,
          token: message.token,
          worker: this.info.id,
          reason: reply.nack,
        });
        void this.#reply(message.replyTo, nack);
        continue;
      }
      void this.#reply(message.replyTo, encodeCompactAck(message.id, message.token));
      if (reply === 'ack') continue;
      if ('ok' in reply) void this.finish(message, reply.ok);
      else {
        const failed = encodeCompactError(message.id, message.token, reply.error);
        void this.#reply(message.replyTo, failed);
      }
    }
  }

  /** Publishes a reply; parks it, as a worker does, when nobody was subscribed. */
  #reply(dispatcher: string, encoded: string): Promise<number> {
    const { id, incarnation } = this.info;
    const channel = n.replyChannel(dispatcher);
    const frame = this.seal(channel, encodeFrame([encoded], { worker: id, incarnation }));
    const published = this.command.publish(channel, frame);
    void published.then((receivers) => {
      if (receivers === 0) {
        void this.command.command((redis) => redis.rpush(n.parkedKey(dispatcher), [frame]));
      }
    });
    return published;
  }
}

/** A promise's outcome, observed without leaving a rejection unhandled. */
export function outcome<T>(promise: Promise<T>) {
  const seen: { value?: T; error?: DispatchError; settled: boolean } = { settled: false };
  promise.then(
    (value) => Object.assign(seen, { value, settled: true }),
    (error: DispatchError) => Object.assign(seen, { error, settled: true }),
  );
  return seen;
}

let open: Array<() => Promise<void>> = [];

/** Closes every dispatcher made since the last call; for `afterEach`. */
export async function closeAll(): Promise<void> {
  for (const close of open) await close();
  open = [];
}

/** A dispatcher core on a fresh MemoryRedis and VirtualClock, with short timers. */
export function setup(options: DispatcherOptions = {}) {
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
  open.push(async () => {
    const closed = dispatcher.close();
    await clock.advance(2_000);
    await closed;
  });
  const auth = fakeAuth(options.auth, clock);
  const worker = (id: string, script: Script, extra?: Partial<WorkerInfo>) =>
    new FakeWorker(redis, id, script, extra, auth);
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
