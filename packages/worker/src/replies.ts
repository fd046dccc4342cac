/**
 * Everything the worker sends back to dispatchers: acks (batched per turn),
 * nacks, results, and the record of finished attempts' replies that answers a
 * re-sent attempt without running it again. A reply nobody heard (its
 * dispatcher is between subscriptions) is parked in Redis for it; one whose
 * publish failed (Redis unreachable) waits, bounded, for the reconnect.
 */
import {
  type Clock,
  type NackReason,
  type Names,
  Outbox,
  type RateLimitedLog,
  type TaskMessage,
} from '@ringcast/protocol';
import type { Attempt } from './attempt.js';
import { FinishedAttempts } from './finished.js';
import { ReplyEncoder, safeString } from './serialize.js';
import type { WorkerCounters } from './stats.js';
import type { WorkerTransport } from './transport.js';

/** Off-heap bytes for replies of finished attempts (~75,000 of 200 bytes); their index takes half as much again. */
export const FINISHED_MAX_BYTES = 16 * 1024 * 1024;
/** How long a finished attempt answers a re-send: at least the widest frame-auth window (MAX_MAX_SKEW_MS). */
export const FINISHED_MAX_AGE_MS = 5 * 60_000;
const MAX_CACHED_REPLY_CHANNELS = 1024;
const MAX_RETRY_FRAMES = 1_000;

interface RetryFrame {
  channel: string;
  frame: string;
  replyTo: string;
  count: number;
}

/** Where replies is told to send from, and what it must know of its worker. */
export interface RepliesOptions {
  id: string;
  incarnation: string;
  names: Names;
  maxMessageBytes: number;
  parkTtlMs: number;
  maxParked: number;
  /** Bytes kept of finished attempts' replies (default {@link FINISHED_MAX_BYTES}). */
  finishedBytes?: number;
}

/** What {@link Replies} needs of its worker: whether it may still send. */
export interface RepliesHost {
  closed(): boolean;
}

/** The task fields a reply needs. */
export type ReplyTarget = Pick<TaskMessage, 'id' | 'token' | 'replyTo'> & {
  replyMaxBytes?: number;
};

export class Replies {
  /** Encodes each reply once; the executor encodes results with it too. */
  readonly encoder: ReplyEncoder;
  readonly #o: RepliesOptions;
  readonly #transport: Pick<WorkerTransport, 'publish' | 'park'>;
  readonly #clock: Clock;
  readonly #stats: WorkerCounters;
  readonly #warnings: RateLimitedLog;
  readonly #host: RepliesHost;
  readonly #outbox: Outbox<string>;
  readonly #finished: FinishedAttempts;
  readonly #replyChannels = new Map<string, string>();
  #unacked: Attempt[] = [];
  #ackScheduled = false;
  #retry: RetryFrame[] = [];

  constructor(
    options: RepliesOptions,
    transport: Pick<WorkerTransport, 'publish' | 'park' | 'clock'>,
    stats: WorkerCounters,
    warnings: RateLimitedLog,
    host: RepliesHost,
  ) {
    this.#o = options;
    this.#finished = new FinishedAttempts(
      options.finishedBytes ?? FINISHED_MAX_BYTES,
      FINISHED_MAX_AGE_MS,
    );
    this.#transport = transport;
    this.#clock = transport.clock;
    this.#stats = stats;
    this.#warnings = warnings;
    this.#host = host;
    this.encoder = new ReplyEncoder(options.id, options.incarnation, options.maxMessageBytes);
    this.#outbox = new Outbox<string>(
      {
        publish: (channel, frame) => transport.publish(channel, frame),
        published: (_channel, receivers, frame, tags) => {
          if (receivers === 0) this.#park(tags[0]!, frame, tags.length);
        },
        failed: (channel, error, frame, tags) =>
          this.#publishFailed({ channel, frame, replyTo: tags[0]!, count: tags.length }, error),
      },
      options.maxMessageBytes,
      this.encoder.sender,
      (flush) => this.#clock.setImmediate(flush),
    );
  }

  /** An attempt taken this turn: acked at the end of the turn unless its result came first. */
  accepted(attempt: Attempt): void {
    this.#unacked.push(attempt);
    if (!this.#ackScheduled) {
      this.#ackScheduled = true;
      this.#clock.setImmediate(this.flushAcks);
    }
  }

  /** Acks attempts accepted this turn whose result did not arrive first. */
  flushAcks = (): void => {
    this.#ackScheduled = false;
    const list = this.#unacked;
    this.#unacked = [];
    for (const attempt of list) {
      if (attempt.phase === 'done' || attempt.acked) continue;
      attempt.acked = true;
      this.ack(attempt.task);
      for (const sent of attempt.alsoSentBy ?? []) this.ack(sent);
    }
  };

  ack(task: ReplyTarget): void {
    this.#stats.acked++;
    this.#outbox.push(
      this.#replyChannel(task.replyTo),
      this.encoder.ack(task.id, task.token),
      task.replyTo,
      this.#replyLimit(task),
    );
  }

  nack(task: ReplyTarget, reason: NackReason, message: string): void {
    this.#stats.nacked[reason]++;
    if (this.#host.closed()) return;
    this.#outbox.push(
      this.#replyChannel(task.replyTo),
      this.encoder.nack(task.id, task.token, reason, message),
      task.replyTo,
      this.#replyLimit(task),
    );
  }

  /** A live attempt's refusal, to every dispatcher that sent it. */
  nackAttempt(attempt: Attempt, reason: NackReason, message: string): void {
    this.nack(attempt.task, reason, message);
    for (const sent of attempt.alsoSentBy ?? []) this.nack(sent, reason, message);
  }

  /** Records an attempt's final reply (for re-sent attempts) and sends it to every dispatcher that sent it. */
  final(attempt: Attempt, encoded: string, now: number): void {
    const { task } = attempt;
    this.#finished.add(task.token, encoded, now, attempt.hash);
    if (this.#host.closed()) return;
    this.#outbox.push(
      this.#replyChannel(task.replyTo),
      encoded,
      task.replyTo,
      this.#replyLimit(task),
    );
    for (const sent of attempt.alsoSentBy ?? []) {
      this.#outbox.push(
        this.#replyChannel(sent.replyTo),
        encoded,
        sent.replyTo,
        this.#replyLimit(sent),
      );
    }
  }

  /** Re-sends the final reply of an attempt that finished here; false if there is none on record. */
  resendFinal(task: ReplyTarget, hash: number, now: number): boolean {
    const finished = this.#finished.get(task.token, now, hash);
    if (finished === undefined) return false;
    this.#outbox.push(
      this.#replyChannel(task.replyTo),
      finished,
      task.replyTo,
      this.#replyLimit(task),
    );
    return true;
  }

  /** Publishes what this turn queued now, rather than at the end of the turn. */
  flush(): void {
    this.#outbox.flush();
  }

  /** Resolves once every publish under way has settled. */
  drained(): Promise<void> {
    return this.#outbox.drained();
  }

  /** The command connection is back: sends the frames whose publish failed. */
  resend(): void {
    const frames = this.#retry;
    if (frames.length === 0) return;
    this.#retry = [];
    for (const frame of frames) {
      this.#transport.publish(frame.channel, frame.frame).then(
        (receivers) => {
          if (receivers === 0) this.#park(frame.replyTo, frame.frame, frame.count);
        },
        (error: unknown) => this.#publishFailed(frame, error),
      );
    }
  }

  /** Reply channel names, cached: there are few dispatchers, and the id check is not free. */
  #replyChannel(dispatcherId: string): string {
    let channel = this.#replyChannels.get(dispatcherId);
    if (channel === undefined) {
      // Forged ids could grow the cache; a full cache starts over rather than grow.
      if (this.#replyChannels.size >= MAX_CACHED_REPLY_CHANNELS) this.#replyChannels.clear();
      channel = this.#o.names.replyChannel(dispatcherId);
      this.#replyChannels.set(dispatcherId, channel);
    }
    return channel;
  }

  /**
   * The largest frame the task's dispatcher accepts, as its task frame said; a
   * frame over it would be dropped unread and its tasks taken for lost. One that
   * did not say gets frames within our own limit, as both sides once assumed.
   */
  #replyLimit(task: { replyMaxBytes?: number }): number {
    return task.replyMaxBytes ?? this.#o.maxMessageBytes;
  }

  /**
   * Nobody heard the reply: its dispatcher is between subscriptions. Keep the
   * frame in a bounded, expiring list that it reads when it subscribes again.
   */
  #park(replyTo: string, frame: string, count: number): void {
    if (this.#host.closed()) {
      this.#stats.dropped += count;
      return;
    }
    this.#transport.park(replyTo, frame, this.#o.parkTtlMs, this.#o.maxParked).then(
      () => {
        this.#stats.parked += count;
      },
      (error: unknown) => {
        this.#stats.dropped += count;
        this.#warnings.log(
          'park',
          `could not park ${count} repl(ies) for ${replyTo}: ${safeString(error)}`,
        );
      },
    );
  }

  /** A publish failed (Redis unreachable): keep the frame, bounded, to send on reconnect. */
  #publishFailed(frame: RetryFrame, error: unknown): void {
    this.#warnings.log('publish', `publish to ${frame.channel} failed: ${safeString(error)}`);
    if (this.#host.closed()) {
      this.#stats.dropped += frame.count;
      return;
    }
    this.#retry.push(frame);
    while (this.#retry.length > MAX_RETRY_FRAMES) this.#stats.dropped += this.#retry.shift()!.count;
  }
}
