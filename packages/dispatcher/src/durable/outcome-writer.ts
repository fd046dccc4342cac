/**
 * The store's side of a durable task this dispatcher runs: each attempt sent is
 * recorded (`started`), its outcome is written by the fenced `settle` before the
 * callers hear it, and a task given back at close is released to the backlog.
 *
 * What a terminal write can answer: `settled` (callers get the outcome),
 * `already` (another write won: callers get the stored outcome, a late write
 * counted), `stale` (another owner holds the task: callers wait for its
 * outcome on the settled channel, counted). A task whose `started` is refused
 * is no longer ours: it is dropped here, with no write (counted). One whose
 * `started` finds a cancel requested — the request went out before this
 * dispatcher knew the task — is cancelled. One whose run a worker stopped on
 * another dispatcher's cancel is settled as the store says.
 */
import { ErrorCode, errorMessage } from '@ringcast/protocol';
import { DispatchError } from '../errors.js';
import { TaskState as State } from '../task.js';
import type { Task, WorkerState } from '../worker-state.js';
import type { DurableContext } from './durable-context.js';
import type { DurableRecord } from './record.js';
import type { Outcome } from './store.js';
import { type Settled, settledOf } from './task-info.js';

/** How soon a store write Redis refused is tried again. */
const WRITE_RETRY_MS = 500;

export const CANCELLED_BY_REQUEST = 'cancelled with cancel(id)';

export function cancelledOutcome(message: string): Outcome {
  return { state: 'cancelled', error: { code: ErrorCode.CANCELLED, message } };
}

export class OutcomeWriter {
  readonly #c: DurableContext;
  /** Called when a task of ours ended here: its slot is free for the backlog. */
  readonly #freed: () => void;
  /** Tasks no longer ours (fenced): their rejection writes nothing. */
  readonly #dropped = new Set<string>();
  /** Tasks given back at close: their rejection releases them instead. */
  readonly #releasing = new Set<string>();
  /** Tasks whose terminal write or release is under way (retries included): ours in Redis, gone here. */
  readonly #writing = new Set<string>();
  /** Reads a task's record and wakes its waiters if it finished. */
  readonly #readBack: (id: string) => void;

  constructor(context: DurableContext, freed: () => void, readBack: (id: string) => void) {
    this.#c = context;
    this.#freed = freed;
    this.#readBack = readBack;
  }

  /** An attempt of durable `task` went to `worker`: recorded, fenced by ownership. */
  started(task: Task, worker: WorkerState, now: number): void {
    const { host, store, writes } = this.#c;
    const { id, attempt } = task;
    writes.track(
      store.started(id, host.id, attempt, worker.id, now).then(
        (result) => {
          if (result === 'started' || task.state === State.Settled) return;
          if (result === 'cancel') host.settlement.cancelRequested(task, CANCELLED_BY_REQUEST);
          else this.#drop(task);
          host.queue.pump();
        },
        (error: unknown) =>
          host.log.warn(
            'durable',
            `recording attempt ${attempt} of ${id} failed: ${errorMessage(error)}`,
            { task: id, attempt },
          ),
      ),
    );
  }

  /**
   * A worker stopped the attempt on a cancel this dispatcher did not send: another
   * dispatcher sent the same attempt (one that owns, or owned, the task) and stopped
   * it for all — a `cancel(id)`, or a dispatcher that predates naming itself in a
   * cancel. The store says what follows: a cancel requested ends the task
   * `CANCELLED`; a task no longer ours (another owner's, or finished) is dropped
   * here as a fenced one is; one still ours runs its next attempt. A record that
   * cannot be read counts as not ours: if it is, the orphan sweep runs it.
   */
  stoppedElsewhere(task: Task, why: string): void {
    const { host, store, writes } = this.#c;
    const { id, attempt } = task;
    const decide = (record: DurableRecord | undefined) => {
      // Settled meanwhile (its deadline), or moved on to another attempt: nothing is left to decide.
      if (task.attempt !== attempt || (task.state !== State.Sent && task.state !== State.Acked)) {
        return;
      }
      if (record?.state !== 'active' || record.owner !== host.id) this.#drop(task);
      else if (record.cancelRequested) host.settlement.cancelRequested(task, CANCELLED_BY_REQUEST);
      else host.delivery.redeliver(task, true, why);
      host.queue.pump();
    };
    writes.track(store.get(id).then(decide, () => decide(undefined)));
  }

  /**
   * Another dispatcher owns the task now: our copy ends here, writing nothing
   * (counted). Its worker is told we gave up on the attempt: a run the new owner
   * sent too (the same attempt number) goes on for it.
   */
  #drop(task: Task): void {
    const { host, stats } = this.#c;
    stats.dropped++;
    this.#dropped.add(task.id);
    host.settlement.fail(task, ErrorCode.CANCELLED, 'another dispatcher owns the task', true);
  }

  /** The task's `resolve`. */
  succeeded(id: string, value: unknown): void {
    if (this.#dropped.delete(id)) return;
    this.write(id, { state: 'succeeded', result: value });
    this.#freed();
  }

  /** The task's `reject`. */
  failed(id: string, error: unknown): void {
    if (this.#dropped.delete(id)) return;
    if (this.#releasing.delete(id)) {
      this.release(id);
      return;
    }
    const e = error instanceof DispatchError ? error : undefined;
    const code = e?.code ?? ErrorCode.INVALID_MESSAGE;
    const message = e?.message ?? 'the task failed';
    const outcome: Outcome =
      code === ErrorCode.CANCELLED
        ? cancelledOutcome(message)
        : {
            state: 'failed',
            error: e?.remote ? { code, message, remote: e.remote } : { code, message },
          };
    this.write(id, outcome);
    this.#freed();
  }

  /** At close, after the drain: `id` goes back to the backlog when its local caller is failed. */
  giveBack(id: string): void {
    this.#releasing.add(id);
  }

  /**
   * Whether a terminal write or release of `id` is under way: the write wakes
   * its waiters, so its settled announcement needs no read.
   */
  isWriting(id: string): boolean {
    return this.#writing.has(id);
  }

  /** The fenced terminal write; then the callers hear the truth. Retried while Redis refuses it. */
  write(id: string, outcome: Outcome): void {
    this.#writing.add(id);
    this.#c.writes.track(this.#store(id, outcome).finally(() => this.#writing.delete(id)));
  }

  async #store(id: string, outcome: Outcome): Promise<void> {
    const { host, store, stats, waiters, writes } = this.#c;
    for (;;) {
      let result: Awaited<ReturnType<typeof store.settle>>;
      try {
        result = await store.settle(id, host.id, outcome, host.clock.now());
      } catch (error) {
        host.log.warn('durable', `storing the outcome of ${id} failed: ${errorMessage(error)}`, {
          task: id,
        });
        // Abandoned at close: the task stays ours in Redis, and is adopted once we are gone.
        if (await writes.pause(WRITE_RETRY_MS)) continue;
        return;
      }
      switch (result.kind) {
        case 'settled':
        case 'unknown':
          waiters.wake(id, settledOfOutcome(outcome));
          return;
        case 'already':
          stats.lateWrites++;
          waiters.wake(id, settledOf(result.record) ?? settledOfOutcome(outcome));
          return;
        case 'stale':
          // Its real owner's outcome reaches the waiters through the settled channel; one
          // announced while this write was under way was not read (`isWriting`): read it now.
          stats.staleSettles++;
          if (waiters.has(id)) this.#readBack(id);
          return;
      }
    }
  }

  /** Gives an active task of ours back to the backlog. */
  release(id: string): void {
    const { host, store, stats, writes } = this.#c;
    this.#writing.add(id);
    writes.track(
      store
        .release(id, host.id, host.clock.now())
        .then(
          (released) => {
            if (released) stats.released++;
          },
          (error: unknown) =>
            host.log.warn(
              'durable',
              `giving ${id} back to the backlog failed: ${errorMessage(error)}`,
              { task: id },
            ),
        )
        .finally(() => this.#writing.delete(id)),
    );
  }
}

function settledOfOutcome(outcome: Outcome): Settled {
  return outcome.state === 'succeeded'
    ? { ok: true, value: outcome.result }
    : { ok: false, error: outcome.error };
}
