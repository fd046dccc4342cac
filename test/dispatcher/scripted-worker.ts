import {
  decode,
  encodeCompactAck,
  encodeCompactError,
  encodeCompactOk,
  encodeFrame,
  type Names,
  names,
  type RemoteError,
  type TaskMessage,
  type WorkerInfo,
} from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { registerByHand } from '../support/registry.js';
import { track } from '../support/track.js';

/** What a scripted worker does with one attempt it received. */
export type Reply = 'ack' | 'silent' | { ok: unknown } | { error: RemoteError };

/**
 * A hand-made worker: a registry entry, a heartbeat and a subscription, and
 * replies that a script decides per attempt, so a test can lose an ack or
 * fail a run exactly when it wants to.
 */
export class ScriptedWorker {
  /** Every attempt received, in order. */
  readonly received: TaskMessage[] = [];
  readonly info: WorkerInfo;
  readonly #names: Names;
  readonly #command: Redis;
  readonly #subscriber: Redis;
  readonly #script: (task: TaskMessage) => Reply;

  private constructor(
    url: string,
    namespace: string,
    info: WorkerInfo,
    script: (task: TaskMessage) => Reply,
  ) {
    this.info = info;
    this.#names = names(namespace);
    this.#script = script;
    this.#command = track(new Redis(url));
    this.#subscriber = track(new Redis(url));
    this.#subscriber.on('message', (_channel: string, frame: string) => this.#onFrame(frame));
  }

  /** Subscribes, then registers with a heartbeat that outlives the test. */
  static async start(
    url: string,
    namespace: string,
    script: (task: TaskMessage) => Reply,
    extra: Partial<WorkerInfo> = {},
  ): Promise<ScriptedWorker> {
    const info: WorkerInfo = {
      id: `scripted-${Math.random().toString(36).slice(2, 8)}`,
      incarnation: `inc-${Math.random().toString(36).slice(2, 8)}`,
      weight: 1,
      concurrency: 16,
      maxQueue: 0,
      heartbeatTtlMs: 60_000,
      maxMessageBytes: 1024 * 1024,
      handlers: ['echo'],
      host: 'test',
      pid: 1,
      version: '0',
      startedAt: Date.now(),
      ...extra,
    };
    const worker = new ScriptedWorker(url, namespace, info, script);
    const n = worker.#names;
    await worker.#subscriber.subscribe(n.workerChannel(info.id));
    await registerByHand(worker.#command, namespace, info, 60_000);
    return worker;
  }

  /** The attempt numbers received, in order. */
  attempts(): number[] {
    return this.received.map((t) => t.attempt);
  }

  async close(): Promise<void> {
    await Promise.all([this.#command.quit(), this.#subscriber.quit()]);
  }

  #onFrame(frame: string): void {
    const decoded = decode(frame, { maxBytes: 512 * 1024 * 1024 });
    if (!decoded.ok) return;
    const sender = { worker: this.info.id, incarnation: this.info.incarnation };
    for (const message of decoded.messages) {
      if (message.kind !== 'task') continue;
      this.received.push(message);
      const reply = this.#script(message);
      if (reply === 'silent') continue;
      const encoded =
        reply === 'ack'
          ? encodeCompactAck(message.id, message.token)
          : 'ok' in reply
            ? encodeCompactOk(message.id, message.token, JSON.stringify(reply.ok))
            : encodeCompactError(message.id, message.token, reply.error);
      void this.#command.publish(
        this.#names.replyChannel(message.replyTo),
        encodeFrame([encoded], sender),
      );
    }
  }
}
