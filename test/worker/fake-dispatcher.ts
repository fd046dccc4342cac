import { randomUUID } from 'node:crypto';
import {
  decode,
  encode,
  type Message,
  type Names,
  names,
  type TaskMessage,
} from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { track } from '../support/track.js';

type Waiter = { match: (m: Message) => boolean; resolve: (m: Message) => void };

/**
 * Stands in for a dispatcher: raw ioredis clients that publish frames to a worker
 * channel and collect what comes back on a reply channel and the control channel.
 */
export class FakeDispatcher {
  readonly id = `d-${randomUUID().slice(0, 8)}`;
  readonly names: Names;
  readonly command: Redis;
  readonly subscriber: Redis;
  /** Messages received on the reply channel, in order. */
  readonly replies: Message[] = [];
  /** Messages received on the control channel, in order. */
  readonly control: Message[] = [];
  #waiters = new Set<Waiter>();
  #seq = 0;

  private constructor(url: string, namespace: string) {
    this.names = names(namespace);
    this.command = track(new Redis(url));
    this.subscriber = track(new Redis(url));
    this.subscriber.on('message', (channel: string, data: string) => {
      const decoded = decode(data);
      if (!decoded.ok) throw decoded.error;
      const list = channel === this.names.controlChannel ? this.control : this.replies;
      for (const message of decoded.messages) {
        list.push(message);
        for (const waiter of this.#waiters) {
          if (waiter.match(message)) {
            this.#waiters.delete(waiter);
            waiter.resolve(message);
          }
        }
      }
    });
  }

  static async create(url: string, namespace: string): Promise<FakeDispatcher> {
    const fake = new FakeDispatcher(url, namespace);
    await fake.subscriber.subscribe(fake.names.replyChannel(fake.id), fake.names.controlChannel);
    return fake;
  }

  /** A task for this dispatcher, unique id and token, deadline 10 s out. */
  task(handler: string, payload?: unknown, extra: Partial<TaskMessage> = {}): TaskMessage {
    const n = ++this.#seq;
    const task: TaskMessage = {
      kind: 'task',
      id: `t${n}`,
      attempt: 1,
      token: `tok-${n}-${randomUUID().slice(0, 8)}`,
      handler,
      deadline: Date.now() + 10_000,
      replyTo: this.id,
      ...extra,
    };
    if (payload !== undefined) task.payload = payload;
    return task;
  }

  /** Publishes messages as one frame to a worker; resolves with the receiver count. */
  send(workerId: string, ...messages: Message[]): Promise<number> {
    return this.command.publish(this.names.workerChannel(workerId), encode(messages));
  }

  sendRaw(workerId: string, data: string | Buffer): Promise<number> {
    return this.command.publish(this.names.workerChannel(workerId), data);
  }

  /** The first message (reply or control, already received or still to come) that matches. */
  next<T extends Message = Message>(
    match: (m: Message) => boolean,
    timeoutMs = 10_000,
  ): Promise<T> {
    const seen = [...this.replies, ...this.control].find(match);
    if (seen) return Promise.resolve(seen as T);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as T);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(
          new Error(
            `no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.replies)}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /** The reply of `kind` for one attempt's token. */
  reply<K extends Message['kind']>(
    kind: K,
    token: string,
    timeoutMs?: number,
  ): Promise<Extract<Message, { kind: K }>> {
    return this.next((m) => m.kind === kind && 'token' in m && m.token === token, timeoutMs);
  }

  /** Every reply received so far for one token. */
  repliesFor(token: string): Message[] {
    return this.replies.filter((m) => 'token' in m && m.token === token);
  }

  async close(): Promise<void> {
    await Promise.all([this.command.quit(), this.subscriber.quit()]);
  }
}

/** Polls `check` until it returns a value other than undefined/false; for state with no event. */
export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A promise with its resolve function, for handlers that wait on the test. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
