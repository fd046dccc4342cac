import type { MemoryRedis } from './memory-redis.js';

/**
 * What becomes of a connection's commands in flight when it is cut, each as a
 * TCP connection cut and an ioredis client (which re-sends unanswered commands
 * after reconnecting) can make it:
 * - `lost`: they never reached Redis; they fail.
 * - `applied`: Redis applied them and the replies were lost; they fail.
 * - `resent`: they never reached Redis; the client sends them again once the
 *   connection is back, and they are answered then.
 * - `twice`: Redis applied them, the replies were lost, and the client sends
 *   them again once the connection is back: applied twice, answered the second time.
 */
export type InFlight = 'lost' | 'applied' | 'resent' | 'twice';

/**
 * The process a connection belongs to. Everything that reaches the process
 * from Redis (replies, messages, connection events) runs through it, so a
 * stopped process (SIGSTOP) or one whose event loop is blocked reads nothing
 * until it runs again, and a dead one never does. The simulator's ProcessClock
 * is one; by default a connection's process always runs.
 */
export interface ProcessGate {
  /** Runs `callback` now, once the process runs again, or never (it died). */
  run(callback: () => void): void;
}

const ALWAYS_RUNNING: ProcessGate = { run: (callback) => callback() };

/** How long a cut-off client waits before it reconnects (ioredis's first retry is 50 ms). */
const RECONNECT_MS = 50;

type ConnectionEvent = 'ready' | 'close';

interface Pending {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** The error a command gets when its connection is not up, worded as ioredis words it. */
export class ConnectionClosedError extends Error {
  constructor() {
    super('Connection is closed.');
    this.name = 'ConnectionClosedError';
  }
}

/**
 * One client connection to a {@link MemoryRedis}. Commands queue in order and
 * are applied one clock turn later; `onMessage` hears the channels it
 * subscribed to. `drop()` and `restore()` model a connection cut and healed;
 * like ioredis, the owner re-subscribes after a restore. A command sent while
 * the connection is down fails at once (ioredis would queue it offline: the
 * model takes the stricter path).
 *
 * Messages published to it and not yet read by its process (stopped, or its
 * loop blocked) count against Redis's `pubsubOutputLimit`; past it, Redis
 * disconnects the client, and the client reconnects once its process runs.
 */
export class MemoryConnection {
  readonly name: string;
  readonly #redis: MemoryRedis;
  readonly #gate: ProcessGate;
  #status: 'ready' | 'down' | 'closed' = 'ready';
  /** Bumped on every drop: deliveries and commands from before a drop are void. */
  #generation = 0;
  #queue: Pending[] = [];
  /** Commands to send again once the connection is back (`resent`, `twice`). */
  #resend: Pending[] = [];
  #flushing = false;
  /** Bytes published to this connection that its process has not read yet. */
  #unread = 0;
  /** Past the output limit: Redis disconnects it once the current command is done. */
  #cuttingOff = false;
  readonly #subscribed = new Set<string>();
  #onMessage: ((channel: string, message: string) => void) | undefined;
  readonly #listeners: Record<ConnectionEvent, Array<() => void>> = { ready: [], close: [] };

  /** @internal Use {@link MemoryRedis.connect}. */
  constructor(redis: MemoryRedis, name: string, gate: ProcessGate = ALWAYS_RUNNING) {
    this.#redis = redis;
    this.name = name;
    this.#gate = gate;
  }

  get status(): 'ready' | 'down' | 'closed' {
    return this.#status;
  }

  /** Channels this connection hears now. */
  get channels(): string[] {
    return [...this.#subscribed];
  }

  onMessage(listener: (channel: string, message: string) => void): void {
    this.#onMessage = listener;
  }

  on(event: ConnectionEvent, listener: () => void): void {
    this.#listeners[event].push(listener);
  }

  /** Queues `run` to be applied against Redis in order; its result is the reply. */
  command<T>(run: (redis: MemoryRedis) => T): Promise<T> {
    if (this.#status !== 'ready') return Promise.reject(new ConnectionClosedError());
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({
        run: () => run(this.#redis),
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      this.#schedule();
    });
  }

  publish(channel: string, message: string): Promise<number> {
    return this.command((redis) => redis._publish(channel, message));
  }

  subscribe(channels: string[]): Promise<void> {
    return this.command((redis) => {
      for (const channel of channels) this.#subscribed.add(channel);
      redis._subscribe(this, channels, true);
    });
  }

  unsubscribe(channels: string[]): Promise<void> {
    return this.command((redis) => {
      for (const channel of channels) this.#subscribed.delete(channel);
      redis._subscribe(this, channels, false);
    });
  }

  /**
   * The connection is cut: subscriptions and undelivered messages are lost, and
   * the commands in flight meet `inFlight`'s fate.
   */
  drop(inFlight: InFlight = 'lost'): void {
    if (this.#status !== 'ready') return;
    const queue = this.#queue;
    this.#queue = [];
    // Applied before the cut, so what they did dies with the connection too: a
    // SUBSCRIBE among them leaves no subscription behind.
    if (inFlight === 'applied' || inFlight === 'twice') {
      for (const pending of queue) {
        try {
          pending.run();
        } catch {
          // Its reply is lost either way.
        }
      }
    }
    this.#status = 'down';
    this.#generation++;
    this.#unread = 0;
    this.#cuttingOff = false;
    this.#subscribed.clear();
    this.#redis._forget(this);
    for (const pending of queue) {
      if (inFlight === 'resent' || inFlight === 'twice') this.#resend.push(pending);
      else this.#reply(() => pending.reject(new ConnectionClosedError()));
    }
    this.#emit('close');
  }

  /** The connection is back, with no subscriptions (its owner re-subscribes); unanswered commands go again. */
  restore(): void {
    if (this.#status !== 'down') return;
    this.#status = 'ready';
    if (this.#resend.length > 0) {
      this.#queue = [...this.#resend, ...this.#queue];
      this.#resend = [];
      this.#schedule();
    }
    this.#emit('ready');
  }

  /** Closes for good; later commands fail, and so do those waiting to be sent again. */
  close(): void {
    if (this.#status === 'closed') return;
    if (this.#status === 'ready') this.drop('lost');
    this.#status = 'closed';
    for (const pending of this.#resend)
      this.#reply(() => pending.reject(new ConnectionClosedError()));
    this.#resend = [];
    this.#redis._closed(this);
  }

  /** @internal A message published on a channel this connection hears. */
  _deliver(channel: string, message: string): void {
    if (this.#cuttingOff) {
      this.#redis.counters.lostMessages++;
      return;
    }
    const generation = this.#generation;
    this.#unread += message.length;
    if (this.#unread > this.#redis.pubsubOutputLimit) {
      // Redis frees the client after this command: the PUBLISH still counts it.
      this.#cuttingOff = true;
      this.#redis.counters.lostMessages++;
      this.#redis.clock.setImmediate(() => {
        if (this.#cuttingOff && generation === this.#generation) this.#cutOff();
      });
      return;
    }
    this.#redis.clock.setImmediate(() =>
      this.#gate.run(() => {
        if (generation !== this.#generation || this.#status !== 'ready') {
          this.#redis.counters.lostMessages++;
          return;
        }
        this.#unread -= message.length;
        this.#redis.counters.delivered++;
        this.#onMessage?.(channel, message);
      }),
    );
  }

  /** Redis disconnects a subscriber that reads too slowly; the client reconnects once it runs. */
  #cutOff(): void {
    this.#redis.counters.cutOff++;
    this.drop('lost');
    this.#gate.run(() =>
      this.#redis.clock.setTimeout(() => this.#gate.run(() => this.restore()), RECONNECT_MS),
    );
  }

  /** Hands a reply to the connection's process. */
  #reply(callback: () => void): void {
    this.#gate.run(callback);
  }

  #schedule(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    const generation = this.#generation;
    const wait = this.#redis.stalledUntil - this.#redis.clock.now();
    const flush = () => this.#flush(generation);
    if (wait > 0) this.#redis.clock.setTimeout(flush, wait);
    else this.#redis.clock.setImmediate(flush);
  }

  #flush(generation: number): void {
    this.#flushing = false;
    if (generation !== this.#generation) {
      if (this.#queue.length > 0) this.#schedule();
      return;
    }
    if (this.#redis.stalledUntil > this.#redis.clock.now()) {
      this.#schedule();
      return;
    }
    const queue = this.#queue;
    this.#queue = [];
    for (const pending of queue) {
      this.#redis.counters.commands++;
      let value: unknown;
      try {
        value = pending.run();
      } catch (error) {
        this.#reply(() => pending.reject(error));
        continue;
      }
      this.#reply(() => pending.resolve(value));
    }
  }

  #emit(event: ConnectionEvent): void {
    this.#gate.run(() => {
      for (const listener of [...this.#listeners[event]]) listener();
    });
  }
}
