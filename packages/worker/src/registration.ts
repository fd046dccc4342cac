/**
 * What the worker records about itself in the registry and says on the
 * control channel: its info (the registry entry, whose weight may change while
 * it runs, see operator.ts), registering (the entry with a fresh heartbeat,
 * then a hello, so dispatchers need not wait for a reconcile round) and
 * leaving (a leave, and the entry, heartbeat and claim removed). The worker
 * is the only writer of its entry: here, and in its heartbeat (presence.ts).
 */
import { hostname } from 'node:os';
import { encode, type Names, type WorkerInfo } from '@ringcast/protocol';
import { nanoid } from 'nanoid';
import type { ResolvedOptions } from './options.js';
import type { WorkerTransport } from './transport.js';
import { VERSION } from './version.js';

export class Registration {
  /** The entry as it stands; `startedAt` is set at start, `weight` by the operator. */
  readonly info: WorkerInfo;
  readonly #ttlMs: number;
  readonly #controlChannel: string;
  readonly #transport: Pick<WorkerTransport, 'register' | 'publish' | 'leave'>;

  constructor(
    options: Pick<
      ResolvedOptions,
      | 'id'
      | 'weight'
      | 'concurrency'
      | 'maxQueue'
      | 'heartbeatTtlMs'
      | 'heartbeatIntervalMs'
      | 'maxMessageBytes'
      | 'handlers'
    >,
    names: Names,
    transport: Pick<WorkerTransport, 'register' | 'publish' | 'leave'>,
  ) {
    this.info = {
      id: options.id,
      incarnation: nanoid(),
      weight: options.weight,
      concurrency: options.concurrency,
      maxQueue: options.maxQueue,
      heartbeatTtlMs: options.heartbeatTtlMs,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      maxMessageBytes: options.maxMessageBytes,
      handlers: [...options.handlers.keys()],
      host: hostname(),
      pid: process.pid,
      version: VERSION,
      startedAt: 0,
    };
    this.#ttlMs = options.heartbeatTtlMs;
    this.#controlChannel = names.controlChannel;
    this.#transport = transport;
  }

  /** The registry entry, JSON. */
  get entry(): string {
    return JSON.stringify(this.info);
  }

  /**
   * Writes the registry entry with a fresh heartbeat, then announces the
   * worker: both as the info stands now, even if its weight changes meanwhile
   * (the registration that change makes follows this one). `reweight` says the
   * weight is all that changed, so dispatchers re-send nothing.
   */
  async register(reweight = false): Promise<void> {
    const info = this.info;
    const hello = encode([
      reweight ? { kind: 'hello', worker: info, reweight: true } : { kind: 'hello', worker: info },
    ]);
    await this.#transport.register(JSON.stringify(info), info.incarnation, this.#ttlMs);
    await this.#transport.publish(this.#controlChannel, hello);
  }

  /** Announces the leave and removes the registration, heartbeat and claim. */
  async leave(): Promise<void> {
    const { id, incarnation } = this.info;
    const leave = encode([{ kind: 'leave', id, incarnation }]);
    await Promise.all([
      this.#transport.publish(this.#controlChannel, leave),
      this.#transport.leave(),
    ]);
  }
}
