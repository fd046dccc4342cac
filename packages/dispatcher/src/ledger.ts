/**
 * The ledger: every task this dispatcher admitted and has not settled, by its
 * sequence number, and the ids that name them. An id is the dispatcher's
 * incarnation (fresh per instance, so ids never repeat across restarts) and the
 * sequence number in base 36, so a reply finds its task without a second map.
 */
import { TaskTable } from '@ringcast/protocol';
import { nanoid } from 'nanoid';
import type { Task, WorkerState } from './worker-state.js';

/** Orders tasks by when they were dispatched. */
function oldestFirst(a: { seq: number }, b: { seq: number }): number {
  return a.seq - b.seq;
}

export class Ledger {
  /** Prefix of every task id. */
  readonly #incarnation = nanoid(8).replace(/[^A-Za-z0-9]/g, 'x');
  #counter = 0;
  /** By `seq`, which is its own hash (the table spreads consecutive numbers). */
  readonly #tasks = new TaskTable<Task, number>((task) => task.seq);
  /**
   * Durable tasks by their durable id, which is their wire id (not one of our
   * seq ids): a reply must find them too. Empty unless durable tasks run here,
   * so a non-durable reply pays one size check for it.
   */
  readonly #durable = new Map<string, Task>();

  get size(): number {
    return this.#tasks.size;
  }

  /** The sequence number of the next task. */
  nextSeq(): number {
    return this.#counter++;
  }

  /** The id of the task numbered `seq`. */
  idOf(seq: number): string {
    return this.#incarnation + seq.toString(36);
  }

  add(task: Task): void {
    this.#tasks.add(task, task.seq);
    if (task.durable) this.#durable.set(task.id, task);
  }

  delete(task: Task): void {
    this.#tasks.delete(task, task.seq);
    if (task.durable) this.#durable.delete(task.id);
  }

  /** The task a reply names, if it is ours and still here; any other id finds nothing. */
  byId(id: string): Task | undefined {
    if (this.#durable.size > 0) {
      const durable = this.#durable.get(id);
      if (durable !== undefined) return durable;
    }
    const prefix = this.#incarnation;
    if (id.length <= prefix.length || !id.startsWith(prefix)) return undefined;
    const seq = Number.parseInt(id.slice(prefix.length), 36);
    if (!Number.isSafeInteger(seq)) return undefined;
    const task = this.#tasks.get(seq, seq);
    // parseInt forgives signs, spaces and trailing junk: only the exact id counts.
    return task !== undefined && task.id === id ? task : undefined;
  }

  /**
   * The attempts now on `w`, oldest first. Found by a walk rather than kept in a
   * set per worker: it is needed when a worker dies, leaves or restarts, while a
   * set would cost an add and a delete on every task.
   */
  attemptsOn(w: WorkerState): Task[] {
    return this.#tasks
      .values()
      .filter((task) => task.worker === w)
      .sort(oldestFirst);
  }

  /**
   * Every task not yet settled, oldest first: what is failed, re-sent or
   * redelivered in bulk keeps the order the tasks were dispatched in.
   */
  unsettled(): Task[] {
    return this.#tasks.values().sort(oldestFirst);
  }
}
