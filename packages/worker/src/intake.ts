/**
 * A frame in: decoded and validated, each task either answered from this
 * worker's record (a re-sent attempt that is live here is acked again, one that
 * finished here gets its final reply again: never run twice), refused (a
 * re-send meant for an earlier process under this id) or passed to admission;
 * each cancel passed to the executor; each operator's reweight or drain meant
 * for this process passed to the operator (operator.ts). Invalid messages are
 * counted, logged (rate-limited) and, when they can be answered, nacked.
 */
import {
  type CancelMessage,
  type Clock,
  type DrainMessage,
  decode,
  type FieldLogger,
  type Message,
  NackReason,
  type ProtocolError,
  type RateLimitedLog,
  type ReweightMessage,
  type TaskMessage,
  type TaskTable,
} from '@ringcast/protocol';
import type { Admission } from './admission.js';
import type { Attempt } from './attempt.js';
import type { Executor } from './executor.js';
import { hash } from './finished.js';
import type { Operator } from './operator.js';
import type { Replies } from './replies.js';
import { safeString } from './serialize.js';
import type { WorkerCounters } from './stats.js';

/** Frames kept while a starting worker checks its id is its own: one round trip's worth. */
const MAX_HELD_FRAMES = 1_000;
/** Prefix of the worker's self-addressed probe (recovery.ts); real frames always start with `{`. */
export const PROBE_PREFIX = 'ringcast-probe:';

/** What intake needs of its worker. */
export interface IntakeHost {
  /** Whether another process holds this worker's id: it answers the frames, not this one. */
  fenced(): boolean;
  /** A probe frame came back (recovery.ts). */
  probe(data: string): void;
  /** Takes the operator's requests; made after intake, so asked for when one comes. */
  operator(): Pick<Operator, 'reweight' | 'drain'>;
  /** An operator's request was not newer than the last one applied: a replay, dropped. */
  replayed(kind: 'reweight' | 'drain'): void;
}

export class Intake {
  readonly #id: string;
  readonly #incarnation: string;
  readonly #maxMessageBytes: number;
  readonly #clock: Clock;
  readonly #logger: FieldLogger;
  readonly #warnings: RateLimitedLog;
  readonly #stats: WorkerCounters;
  readonly #live: TaskTable<Attempt, string>;
  readonly #admission: Pick<Admission, 'take'>;
  readonly #executor: Pick<Executor, 'cancel'>;
  readonly #replies: Pick<Replies, 'ack' | 'nack' | 'resendFinal'>;
  readonly #host: IntakeHost;
  /** Frames that arrived between subscribing and knowing the id is ours (and when they were signed). */
  #held: Array<[data: string, sentAt: number]> | undefined;
  /**
   * The signing time of the last operator's request applied: with frame
   * authentication, one not newer is a replay of an earlier one.
   */
  #lastOperatorAt = Number.NEGATIVE_INFINITY;
  /**
   * Epoch ms, read once per incoming frame: a clock read costs as much as a Map
   * lookup, and tasks of one frame arrive together.
   */
  #now = 0;

  constructor(
    options: { id: string; incarnation: string; maxMessageBytes: number; logger: FieldLogger },
    clock: Clock,
    warnings: RateLimitedLog,
    stats: WorkerCounters,
    live: TaskTable<Attempt, string>,
    admission: Pick<Admission, 'take'>,
    executor: Pick<Executor, 'cancel'>,
    replies: Pick<Replies, 'ack' | 'nack' | 'resendFinal'>,
    host: IntakeHost,
  ) {
    this.#id = options.id;
    this.#incarnation = options.incarnation;
    this.#maxMessageBytes = options.maxMessageBytes;
    this.#logger = options.logger;
    this.#clock = clock;
    this.#warnings = warnings;
    this.#stats = stats;
    this.#live = live;
    this.#admission = admission;
    this.#executor = executor;
    this.#replies = replies;
    this.#host = host;
  }

  /** Keeps frames instead of taking them in, until {@link release}. */
  hold(): void {
    this.#held = [];
  }

  /** Takes in the frames held since {@link hold}, or drops them (`take` false). */
  release(take: boolean): void {
    const held = this.#held;
    this.#held = undefined;
    if (take && held) for (const [frame, sentAt] of held) this.frame(frame, sentAt);
  }

  /** A frame arrived on the worker's channel; `sentAt` as its transport vouched for it. */
  frame = (data: string, sentAt = Number.NaN): void => {
    this.#now = this.#clock.now();
    try {
      if (data.startsWith(PROBE_PREFIX)) {
        this.#host.probe(data);
        return;
      }
      if (this.#held !== undefined) {
        // Bounded: past it, their dispatchers re-send when no ack comes.
        if (this.#held.length < MAX_HELD_FRAMES) this.#held.push([data, sentAt]);
        return;
      }
      // The process that holds the id gets the same frames and answers them.
      if (this.#host.fenced()) return;
      const decoded = decode(data, { maxBytes: this.#maxMessageBytes });
      if (!decoded.ok) {
        this.#invalid(decoded.error.message);
        return;
      }
      if (decoded.dropped !== undefined) this.#invalidTraces(decoded.dropped);
      for (const message of decoded.messages) this.#message(message, sentAt);
      for (const { error, context } of decoded.rejected) {
        this.#invalid(error.message);
        if (context?.kind === 'task' && context.id && context.token && context.replyTo) {
          this.#replies.nack(
            { id: context.id, token: context.token, replyTo: context.replyTo },
            NackReason.INVALID_MESSAGE,
            error.message,
          );
        }
      }
    } catch (error) {
      this.#logger.error(`failed to handle a message: ${safeString(error)}`, {
        code: 'INVALID_MESSAGE',
      });
    }
  };

  #message(message: Message, sentAt: number): void {
    if (message.kind === 'task') this.#task(message);
    else if (message.kind === 'cancel') this.#cancel(message);
    else if (message.kind === 'reweight' || message.kind === 'drain') {
      this.#operator(message, sentAt);
    } else this.#invalid(`unexpected "${message.kind}" message on a worker channel`);
  }

  #invalid(why: string): void {
    this.#stats.invalid++;
    this.#warnings.log('invalid', `dropped an invalid message: ${why}`, {
      code: 'INVALID_MESSAGE',
    });
  }

  #invalidTraces(dropped: readonly ProtocolError[]): void {
    this.#stats.invalidTraceContexts += dropped.length;
    this.#warnings.log('trace-context', `ran a task untraced: ${dropped[0]!.message}`, {
      code: 'INVALID_MESSAGE',
    });
  }

  #operator(message: ReweightMessage | DrainMessage, sentAt: number): void {
    if (message.id !== this.#id) {
      this.#invalid(`a ${message.kind} for worker ${message.id} on worker ${this.#id}'s channel`);
      return;
    }
    if (message.incarnation !== undefined && message.incarnation !== this.#incarnation) {
      // Meant for a process that had this id before (or will): not this one.
      this.#warnings.log(
        'operator-incarnation',
        `ignored a ${message.kind} for its incarnation ${message.incarnation}; ` +
          `this process is ${this.#incarnation}`,
        { incarnation: message.incarnation },
      );
      return;
    }
    if (!Number.isNaN(sentAt)) {
      // Within the skew window a captured request would pass every other check.
      if (sentAt <= this.#lastOperatorAt) {
        this.#host.replayed(message.kind);
        return;
      }
      this.#lastOperatorAt = sentAt;
    }
    const operator = this.#host.operator();
    if (message.kind === 'reweight') operator.reweight(message.weight);
    else operator.drain();
  }

  #task(task: TaskMessage): void {
    this.#stats.received++;
    const tag = hash(task.token);
    const live = this.#live.get(task.token, tag);
    if (live) {
      // Re-sent while queued or running: confirm again, never run twice.
      this.#stats.duplicates++;
      // Sent again by another dispatcher (durable tasks: it took the task over from the
      // one that sent it first, dead or stalled): the answers go to both, and the store
      // keeps only its current owner's.
      if (task.replyTo !== live.task.replyTo) addSender(live, task);
      if (live.acked) this.#replies.ack(task);
      return;
    }
    if (this.#replies.resendFinal(task, tag, this.#now)) {
      // Re-sent after it finished: its dispatcher lost the reply; it is sent again.
      this.#stats.duplicates++;
      return;
    }
    if (task.incarnation !== undefined && task.incarnation !== this.#incarnation) {
      // A re-send of an attempt that another process under this id had (before
      // a restart): it may have run there, and running it here could exceed the
      // task's attempt bound. Its dispatcher counts it as lost with that process.
      this.#replies.nack(
        task,
        NackReason.WORKER_LOST,
        `attempt ${task.attempt} was with an earlier process of worker ${this.#id}, which is gone`,
      );
      return;
    }
    this.#admission.take(task, tag, this.#now);
  }

  #cancel(message: CancelMessage): void {
    const attempt = this.#live.get(message.token, hash(message.token));
    if (!attempt || attempt.task.id !== message.id) return;
    // One dispatcher gives up on an attempt that others may still wait for: a durable
    // task's new owner sent the same attempt, and the stale owner's cancel must not
    // stop its run. A cancel that names no sender stops the run for all.
    if (message.from !== undefined && !withdraw(attempt, message.from)) return;
    this.#stats.cancelled++;
    this.#executor.cancel(attempt);
  }
}

/**
 * Takes `dispatcher` off the ones `attempt` answers. Whether the run is to stop:
 * true when it was the last; false when others still wait for the run, or when
 * it was never one of them.
 */
function withdraw(attempt: Attempt, dispatcher: string): boolean {
  const others = attempt.alsoSentBy;
  if (dispatcher === attempt.task.replyTo) {
    const next = others?.shift();
    if (next === undefined) return true;
    attempt.task = next;
    return false;
  }
  const at = others?.findIndex((sent) => sent.replyTo === dispatcher) ?? -1;
  if (at >= 0) others?.splice(at, 1);
  return false;
}

/** Most other dispatchers one live attempt answers too: a few takeovers at most. */
const MAX_OTHER_SENDERS = 8;

function addSender(attempt: Attempt, task: TaskMessage): void {
  attempt.alsoSentBy ??= [];
  const others = attempt.alsoSentBy;
  if (others.length < MAX_OTHER_SENDERS && !others.some((sent) => sent.replyTo === task.replyTo)) {
    others.push(task);
  }
}
