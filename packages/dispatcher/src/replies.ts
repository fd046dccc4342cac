/**
 * Reply handling: every frame on the dispatcher's reply channel and the
 * control channel. A reply (ack, nack, result) counts only for its task's
 * current attempt — its token must match — and moves the task along: an ack
 * starts the wait for the result; BUSY and DRAINING nacks send the attempt
 * elsewhere, a WORKER_LOST nack (a re-send that reached a restarted worker)
 * counts it as lost there, other nacks reject the caller; a result settles the
 * task, or schedules a retry of a retryable handler error. Control messages are hellos
 * (a worker that may have missed tasks while it reconnected) and leaves.
 */
import {
  type Clock,
  decode,
  ErrorCode,
  type Message,
  type MessageContext,
  type Names,
  type RemoteError,
  type ResultMessage,
} from '@ringcast/protocol';
import type { Delivery } from './delivery.js';
import type { Ledger } from './ledger.js';
import type { LocalQueue } from './local-queue.js';
import type { DispatcherLog } from './log.js';
import type { Membership } from './membership.js';
import type { ResolvedOptions } from './options.js';
import type { Settlement } from './settlement.js';
import type { Counters } from './stats.js';
import type { Strategy } from './strategy.js';
import { acknowledge, retryAfterError, TaskState as State } from './task.js';
import type { TimerWheel } from './timer-wheel.js';
import { isToken } from './token.js';
import { release, type Task, type WorkerState } from './worker-state.js';

/** How long a BUSY nack keeps its worker out of picks. */
const BUSY_BACKOFF_MS = 20;

/** The worker's own verdict that it aborted the handler because the task's deadline passed. */
export function isDeadlineAbort(error: RemoteError): boolean {
  return error.name === 'WorkerError' && error.code === ErrorCode.TIMEOUT;
}

/** The worker's own verdict that it aborted the handler because its dispatcher cancelled the attempt. */
export function isCancelAbort(error: RemoteError): boolean {
  return error.name === 'WorkerError' && error.code === ErrorCode.CANCELLED;
}

/** The worker's own verdict that it aborted the handler because it was shutting down. */
export function isShutdownAbort(error: RemoteError): boolean {
  return error.name === 'WorkerError' && error.code === ErrorCode.CLOSED;
}

/** The message of a `HANDLER_ERROR`. */
export function handlerFailed(handler: string, error: RemoteError): string {
  return `handler ${handler} failed: ${error.name}: ${error.message}`;
}

/** What reply handling needs of the rest of the dispatcher. */
export interface RepliesHost {
  readonly names: Pick<Names, 'controlChannel'>;
  readonly options: Pick<
    ResolvedOptions,
    'maxMessageBytes' | 'retryBackoffMs' | 'maxRetryBackoffMs'
  >;
  readonly clock: Clock;
  readonly counters: Counters;
  readonly log: Pick<DispatcherLog, 'warn'>;
  readonly ledger: Pick<Ledger, 'byId' | 'attemptsOn'>;
  readonly membership: Pick<Membership, 'get' | 'heard' | 'leaving' | 'reconcileSoon'>;
  readonly wheel: Pick<TimerWheel<Task>, 'schedule'>;
  readonly queue: Pick<LocalQueue, 'pump'>;
  readonly delivery: Pick<Delivery, 'redeliver'>;
  readonly settlement: Pick<Settlement, 'succeed' | 'fail' | 'timeout'>;
  /** Hears each successful round trip (the `latency` strategy weighs workers by them). */
  readonly strategy: Pick<Strategy<WorkerState>, 'observe'>;
  /** Re-sends the given open attempts after collecting parked replies (recovery.ts). */
  recover(attempts: Iterable<Task>): Promise<void>;
  /** A durable task's run its worker stopped on another dispatcher's cancel (durable-tasks.ts). */
  stoppedElsewhere(task: Task, why: string): void;
}

export class Replies {
  readonly #host: RepliesHost;

  constructor(host: RepliesHost) {
    this.#host = host;
  }

  /** A frame arrived on `channel` (or was parked for us there). */
  onMessage(channel: string, data: string): void {
    const host = this.#host;
    const decoded = decode(data, { maxBytes: host.options.maxMessageBytes });
    if (!decoded.ok) {
      host.counters.invalidMessages++;
      host.log.warn('invalid', `dropped an invalid frame on ${channel}: ${decoded.error.message}`, {
        channel,
        code: ErrorCode.INVALID_MESSAGE,
      });
      return;
    }
    if (decoded.rejected.length > 0) {
      host.counters.invalidMessages += decoded.rejected.length;
      host.log.warn(
        'invalid',
        `dropped ${decoded.rejected.length} invalid message(s) on ${channel}: ${decoded.rejected[0]!.error.message}`,
        { channel, code: ErrorCode.INVALID_MESSAGE },
      );
      for (const { error, context } of decoded.rejected) this.#unreadableResult(context, error);
    }
    const control = channel === host.names.controlChannel;
    const now = host.clock.now();
    for (const message of decoded.messages) {
      if (control) this.#onControl(message);
      else this.#onReply(message, now);
    }
    host.queue.pump();
  }

  /**
   * A result we cannot read, for the current attempt of one of our tasks: the
   * handler ran, but its outcome is lost. The caller learns it now, rather than
   * at its timeout. The worker checks results with the decoder's own rules, so
   * this takes a result only the whole frame's context could spoil.
   */
  #unreadableResult(context: MessageContext | undefined, error: Error): void {
    if (context?.kind !== 'result' || context.id === undefined || context.token === undefined) {
      return;
    }
    const task = this.#host.ledger.byId(context.id);
    if (!task || !isToken(context.token, task.id, task.attempt)) return;
    if (task.state !== State.Sent && task.state !== State.Acked) return;
    this.#host.settlement.fail(
      task,
      ErrorCode.INVALID_MESSAGE,
      `the worker's result could not be read: ${error.message}`,
      false,
    );
  }

  #onControl(message: Message): void {
    const { membership, ledger } = this.#host;
    if (message.kind === 'hello') {
      const known = membership.get(message.worker.id);
      if (known && known.incarnation === message.worker.incarnation) {
        // Its weight may have changed (an operator's reweight): the ring follows at once.
        membership.heard(known, message.worker);
        // It re-subscribed after a reconnect: what we re-sent while it could not hear is worth sending again.
        if (message.reweight !== true) void this.#host.recover(ledger.attemptsOn(known));
      } else {
        // Anyone can publish a hello; a worker counts once its registry entry and heartbeat say so.
        membership.reconcileSoon();
      }
    } else if (message.kind === 'leave') {
      const w = membership.get(message.id);
      if (w && w.incarnation === message.incarnation) membership.leaving(w);
    } else {
      this.#host.counters.invalidMessages++;
    }
  }

  #onReply(message: Message, now: number): void {
    const host = this.#host;
    if (message.kind !== 'ack' && message.kind !== 'nack' && message.kind !== 'result') {
      host.counters.invalidMessages++;
      return;
    }
    const worker = host.membership.get(message.worker);
    if (worker) {
      worker.lastSeen = now;
      worker.suspected = false;
    }
    const task = host.ledger.byId(message.id);
    if (
      !task ||
      !isToken(message.token, task.id, task.attempt) ||
      task.state === State.Queued ||
      task.state === State.Waiting
    ) {
      host.counters.staleReplies++;
      return;
    }
    switch (message.kind) {
      case 'ack':
        task.ackedBy = message.incarnation;
        if (acknowledge(task)) host.wheel.schedule(task, task.deadline);
        return;
      case 'nack':
        switch (message.reason) {
          case ErrorCode.BUSY:
          case ErrorCode.DRAINING:
            if (task.worker) {
              if (message.reason === ErrorCode.DRAINING) task.worker.leaving = true;
              else task.worker.busyUntil = host.clock.now() + BUSY_BACKOFF_MS;
            }
            host.delivery.redeliver(
              task,
              false,
              `worker ${message.worker} refused the task (${message.reason})`,
            );
            return;
          case ErrorCode.WORKER_LOST:
            // A re-send reached a new process under the worker's id: the attempt may
            // have run on the one before, so it counts as spent.
            host.delivery.redeliver(
              task,
              true,
              `worker ${message.worker} restarted before it answered attempt ${task.attempt}`,
            );
            // The restart is news: its new registration should replace the old one now.
            host.membership.reconcileSoon();
            return;
          case ErrorCode.EXPIRED:
            host.settlement.timeout(task, ', and reached its worker after its deadline', false);
            return;
          default:
            host.settlement.fail(
              task,
              message.reason,
              message.message ?? `worker ${message.worker} refused the task (${message.reason})`,
              false,
            );
            return;
        }
      case 'result':
        this.#onResult(task, message, now);
        return;
    }
  }

  #onResult(task: Task, result: ResultMessage, now: number): void {
    const host = this.#host;
    const from = result.worker;
    if (result.ok) {
      // Only successes are timed: a worker that fails fast must not look fast. A
      // re-sent attempt (sentAt 0) is not: its round trip includes the outage.
      if (task.worker && task.sentAt > 0 && host.strategy.observe)
        host.strategy.observe(task.worker, now - task.sentAt);
      host.settlement.succeed(task, result.value);
      return;
    }
    const error = result.error;
    // The worker aborts a handler at the deadline, and that error result can reach
    // us before our own timer fires (a busy loop, a coarse tick): the caller's
    // timeout is what happened, not a handler failure.
    if (isDeadlineAbort(error)) {
      host.settlement.timeout(task, ` on worker ${from}`, false);
      return;
    }
    if (host.clock.now() >= task.deadline) {
      host.settlement.timeout(task, ` on worker ${from}`, false, error);
      return;
    }
    // A worker that ran out of drain time aborted the handler: the task did not
    // fail, its worker went away mid-run, as if it had died.
    if (isShutdownAbort(error)) {
      host.delivery.redeliver(task, true, `worker ${from} shut down before the task finished`);
      return;
    }
    // A durable task's run its worker stopped on a cancel, and not ours: had we
    // cancelled, the task would be settled and this reply ignored. Another dispatcher
    // sent the same attempt (it owns, or owned, the task) and stopped it: the run
    // ended without an answer, and the store says what follows.
    if (task.durable && isCancelAbort(error)) {
      host.stoppedElsewhere(
        task,
        `worker ${from} stopped the attempt on another dispatcher's cancel`,
      );
      return;
    }
    // A retry, not one of maxAttempts, pays for this run (see task.ts).
    if (error.retryable && retryAfterError(task, error)) {
      const { retryBackoffMs, maxRetryBackoffMs } = host.options;
      const delay = Math.min(maxRetryBackoffMs, retryBackoffMs * 2 ** (task.retried - 1));
      release(task);
      host.wheel.schedule(
        task,
        Math.min(task.deadline, host.clock.now() + delay * (0.5 + Math.random() / 2)),
      );
      return;
    }
    host.settlement.fail(
      task,
      ErrorCode.HANDLER_ERROR,
      handlerFailed(task.handler, error),
      false,
      error,
    );
  }
}
