/**
 * Intake: what turns a `dispatch()` call into a task. The call's arguments are
 * checked (admission.ts) and sized (task-size.ts) before anything is made, so a
 * refused call leaves nothing behind and counts under `stats().rejected`; an
 * admitted one gets its record, an abort listener if it has a signal, and
 * either its first attempt at once or a place in the local queue.
 *
 * `dispatch()` runs for every task, so it allocates only the task's record and
 * its promise: the arguments wait in fields for one shared promise executor.
 */
import { type Clock, ErrorCode } from '@ringcast/protocol';
import {
  blankCallOptions,
  type CallOptions,
  type DispatchOptions,
  encodePayload,
  readCallOptions,
} from './admission.js';
import type { Delivery } from './delivery.js';
import { DispatchError } from './errors.js';
import type { Ledger } from './ledger.js';
import type { LocalQueue } from './local-queue.js';
import type { Membership } from './membership.js';
import type { ResolvedOptions } from './options.js';
import type { Settlement } from './settlement.js';
import type { Counters } from './stats.js';
import { delay, newTask } from './task.js';
import { exactTaskBytes, roughTaskBytes, tooLargeForWorkers } from './task-size.js';
import type { TaskTraces } from './task-traces.js';
import type { TimerWheel } from './timer-wheel.js';
import type { Task } from './worker-state.js';

/** What intake needs of the rest of the dispatcher. */
export interface IntakeHost {
  readonly id: string;
  readonly options: Pick<ResolvedOptions, 'timeoutMs' | 'maxMessageBytes' | 'maxQueued'>;
  readonly clock: Clock;
  readonly counters: Counters;
  readonly ledger: Pick<Ledger, 'nextSeq' | 'idOf' | 'add'>;
  readonly membership: Pick<Membership, 'size' | 'smallestLimit' | 'largestFrameFor'>;
  readonly queue: Pick<LocalQueue, 'size' | 'push'>;
  readonly wheel: Pick<TimerWheel<Task>, 'schedule'>;
  readonly delivery: Pick<Delivery, 'send'>;
  readonly settlement: Pick<Settlement, 'listen' | 'unlisten'>;
  readonly traces: Pick<TaskTraces, 'start' | 'settled'>;
  /** Why no task is taken now (not started, closed), or undefined while running. */
  closedReason(): string | undefined;
}

export class Intake {
  readonly #host: IntakeHost;
  /** The arguments of the `dispatch` call in progress, for {@link admit}. */
  #handler: unknown;
  #payload: unknown;
  #options: DispatchOptions | undefined;
  /** The checked options of the call in progress: one object for every call. */
  readonly #call: CallOptions = blankCallOptions();

  constructor(host: IntakeHost) {
    this.#host = host;
  }

  /**
   * Holds a call's arguments for {@link admit}, which the Promise constructor
   * runs synchronously right after: one executor for every call, rather than a
   * closure (and its context) per task.
   */
  take(handler: unknown, payload: unknown, options: DispatchOptions | undefined): void {
    this.#handler = handler;
    this.#payload = payload;
    this.#options = options;
  }

  /**
   * The executor of `dispatch()`'s promise: validates the call set by
   * {@link take} and sends or queues the task.
   */
  readonly admit = (resolve: (value: unknown) => void, reject: (error: unknown) => void): void => {
    const host = this.#host;
    const handler: unknown = this.#handler;
    const payload = this.#payload;
    const options = this.#options;
    // Not kept past the call: the caller's payload is theirs to let go of.
    this.#payload = undefined;
    this.#options = undefined;
    const counters = host.counters;
    const closed = host.closedReason();
    if (closed !== undefined) {
      reject(counters.refuse(new DispatchError(ErrorCode.CLOSED, closed)));
      return;
    }
    if (typeof handler !== 'string' || handler.length === 0 || handler.length > 128) {
      const message = 'handler must be a name of 1 to 128 characters';
      reject(counters.refuse(new DispatchError(ErrorCode.UNKNOWN_HANDLER, message)));
      return;
    }
    // Everything is checked before anything is sent: a bad option must not leave a task behind.
    const call = this.#call;
    let payloadJson: string | undefined;
    let timeoutMs: number;
    let retries: number;
    let signal: AbortSignal | undefined;
    let key: string | undefined;
    let priority: number;
    let runAt: number;
    const now = host.clock.now();
    try {
      readCallOptions(options, host.options.timeoutMs, now, call);
      // Taken out of the shared record before the payload is encoded: its toJSON
      // or getters may call dispatch() again, which fills the record anew.
      ({ timeoutMs, retries, signal, key, priority, runAt } = call);
      call.signal = undefined;
      if (call.aborted) {
        throw new DispatchError(ErrorCode.CANCELLED, 'the signal was aborted before dispatch');
      }
      payloadJson = encodePayload(payload);
    } catch (error) {
      call.signal = undefined;
      reject(counters.refuse(error as DispatchError));
      return;
    }
    const { ledger, membership } = host;
    const { maxMessageBytes, maxQueued } = host.options;
    const seq = ledger.nextSeq();
    const id = ledger.idOf(seq);
    // A delayed task's timeout counts from when it is due.
    const deadline = (runAt || now) + timeoutMs;
    let bytes = roughTaskBytes(id, host.id, payloadJson);
    if (bytes > membership.smallestLimit) bytes = exactTaskBytes(id, host.id, handler, payloadJson);
    if (bytes > maxMessageBytes) {
      const message = `task of ${bytes} bytes exceeds maxMessageBytes (${maxMessageBytes})`;
      reject(counters.refuse(new DispatchError(ErrorCode.PAYLOAD_TOO_LARGE, message)));
      return;
    }
    if (membership.size > 0) {
      const largest = membership.largestFrameFor(handler);
      if (largest === undefined) {
        const message = `no live worker has a handler named ${JSON.stringify(handler)}`;
        reject(counters.refuse(new DispatchError(ErrorCode.UNKNOWN_HANDLER, message)));
        return;
      }
      if (bytes > largest) {
        reject(counters.refuse(tooLargeForWorkers(bytes, handler, largest)));
        return;
      }
    }
    const task: Task = newTask({
      seq,
      id,
      durable: false,
      handler,
      payload: payloadJson,
      bytes,
      deadline,
      key,
      priority,
      resolve,
      reject,
      retries,
      signal,
      attempt: 0,
    });
    // Listening before the task can be sent: a signal that refuses the listener leaves nothing behind.
    if (signal) {
      try {
        host.settlement.listen(task);
      } catch (error) {
        const message = 'invalid dispatch options: signal.addEventListener threw';
        reject(
          counters.refuse(new DispatchError(ErrorCode.INVALID_OPTIONS, message, { cause: error })),
        );
        return;
      }
    }
    // Its producer span, if tracing, before the first attempt that carries its context.
    host.traces.start(task);
    const queue = host.queue;
    if (runAt > 0) {
      // Not due yet: it waits in memory too, so it counts against maxQueued.
      if (queue.size + counters.delayed >= maxQueued) {
        host.settlement.unlisten(task);
        const message = `the local queue and the delayed tasks hold ${maxQueued} tasks`;
        host.traces.settled(task, ErrorCode.QUEUE_FULL, message);
        reject(counters.refuse(new DispatchError(ErrorCode.QUEUE_FULL, message)));
        return;
      }
      // The wheel wakes it when due (timeouts.ts); then it is sent or queued like any other.
      delay(task);
      host.wheel.schedule(task, runAt);
      counters.delayed++;
    } else if (!(queue.size === 0 && host.delivery.send(task, now))) {
      if (queue.size + counters.delayed >= maxQueued) {
        host.settlement.unlisten(task);
        const message = `every worker is full, and the local queue (${queue.size}) and the delayed tasks (${counters.delayed}) hold maxQueued (${maxQueued})`;
        host.traces.settled(task, ErrorCode.QUEUE_FULL, message);
        reject(counters.refuse(new DispatchError(ErrorCode.QUEUE_FULL, message)));
        return;
      }
      queue.push(task);
      host.wheel.schedule(task, deadline);
    }
    ledger.add(task);
    counters.dispatched++;
  };
}
