/**
 * Recovery after the reply subscription dropped. A reconnected subscriber has
 * no subscriptions: every channel is subscribed again here (ioredis is told not
 * to, see redis-transport.ts). Replies published while no
 * one was subscribed were parked by workers (PUBLISH counted nobody) or lost in
 * flight. When the subscription is back, the parked ones are collected and
 * every open attempt is re-sent with its own token: a worker answers a re-sent
 * attempt from its record (an ack if still running, the result if finished)
 * and never runs it twice. A re-send can be lost too (the worker may not have
 * re-subscribed yet), so it waits for an ack like a first send.
 */
import { type Clock, errorMessage } from '@ringcast/protocol';
import type { Delivery } from './delivery.js';
import type { Ledger } from './ledger.js';
import type { DispatcherLog } from './log.js';
import type { Membership } from './membership.js';
import type { ResolvedOptions } from './options.js';
import type { Replies } from './replies.js';
import type { Counters } from './stats.js';
import type { DispatcherTransport } from './transport.js';
import type { Task } from './worker-state.js';

/** What recovery needs of the rest of the dispatcher. */
export interface RecoveryHost {
  /** Every channel the dispatcher subscribes to. */
  readonly channels: readonly string[];
  readonly replyChannel: string;
  readonly options: Pick<ResolvedOptions, 'ackTimeoutMs'>;
  readonly clock: Clock;
  readonly transport: Pick<DispatcherTransport, 'subscribe' | 'takeParked'>;
  readonly counters: Counters;
  readonly log: Pick<DispatcherLog, 'warn'>;
  readonly ledger: Pick<Ledger, 'unsettled'>;
  readonly membership: Pick<Membership, 'reconcile'>;
  readonly delivery: Pick<Delivery, 'resend'>;
  readonly replies: Pick<Replies, 'onMessage'>;
}

export class Recovery {
  readonly #host: RecoveryHost;

  constructor(host: RecoveryHost) {
    this.#host = host;
  }

  /** The subscriber connection came back while the dispatcher starts or closes: subscribe again, nothing more. */
  async resubscribe(): Promise<void> {
    try {
      await this.#host.transport.subscribe(this.#host.channels);
    } catch (error) {
      this.#host.log.warn('resubscribe', `subscribing again failed: ${errorMessage(error)}`);
    }
  }

  /** The subscriber connection came back: subscribe again, collect, re-send, reconcile. */
  async resubscribed(): Promise<void> {
    const host = this.#host;
    try {
      await host.transport.subscribe(host.channels);
      await this.recover(host.ledger.unsettled());
      await host.membership.reconcile();
    } catch (error) {
      host.log.warn('resubscribe', `recovery after resubscribe failed: ${errorMessage(error)}`);
    }
  }

  /** Collects replies parked for us, then re-sends the given open attempts with their own tokens. */
  async recover(attempts: Iterable<Task>): Promise<void> {
    const host = this.#host;
    const open = [...attempts];
    await this.collectParked();
    const ackBy = host.clock.now() + host.options.ackTimeoutMs;
    for (const task of open) host.delivery.resend(task, ackBy);
  }

  /** Takes the replies workers parked for this dispatcher's id and handles them as if they had just arrived. */
  async collectParked(): Promise<void> {
    const host = this.#host;
    let frames: string[];
    try {
      frames = await host.transport.takeParked();
    } catch (error) {
      host.log.warn('parked', `collecting parked replies failed: ${errorMessage(error)}`);
      return;
    }
    this.replayParked(frames);
  }

  /**
   * Handles replies taken from the parked list as if they had just arrived. At
   * start they can only be a former process's under the same id (the durable
   * side takes the outcomes of its durable tasks from them first): their task
   * ids carry its incarnation, so they settle nothing here and count as stale,
   * but they are drained rather than left to expire.
   */
  replayParked(frames: readonly string[]): void {
    const host = this.#host;
    for (const frame of frames) {
      host.counters.recoveredReplies++;
      host.replies.onMessage(host.replyChannel, frame);
    }
  }
}
