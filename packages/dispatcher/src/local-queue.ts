/**
 * The local queue: tasks admitted while no worker could take them, oldest
 * first, with tasks between attempts put back at the head (they waited
 * longest). A settled task is not searched for: it leaves the count at once
 * and the array when the pump reaches it, so settling stays O(1).
 */
import { queue, TaskState } from './task.js';
import type { Task } from './worker-state.js';

/** What the pump needs of delivery. */
export interface QueueHost {
  /** Sends a new attempt of `task`; false when no worker can take it now. */
  send(task: Task): boolean;
  /** Fails a task no live worker can run (see Delivery.failIfUnrunnable); true if it did. */
  failIfUnrunnable(task: Task): boolean;
}

export class LocalQueue {
  readonly #host: QueueHost;
  readonly #tasks: Array<Task | undefined> = [];
  #head = 0;
  #count = 0;

  constructor(host: QueueHost) {
    this.#host = host;
  }

  /** Tasks waiting. */
  get size(): number {
    return this.#count;
  }

  /** Queues a new task behind the others: New or Waiting → Queued. */
  push(task: Task): void {
    queue(task);
    this.#tasks.push(task);
    this.#count++;
  }

  /** Queues a task that is between attempts (Waiting → Queued) ahead of newer ones. */
  pushFront(task: Task): void {
    queue(task);
    if (this.#head > 0) this.#tasks[--this.#head] = task;
    else this.#tasks.unshift(task);
    this.#count++;
  }

  /** A queued task settled: it no longer counts, and the pump will skip it. */
  dropped(): void {
    this.#count--;
  }

  /** Moves queued tasks to workers while there is capacity. */
  pump(): void {
    const tasks = this.#tasks;
    while (this.#count > 0) {
      const task = tasks[this.#head];
      if (task === undefined) break;
      if (task.state !== TaskState.Queued) {
        // Settled while queued; it was already uncounted.
        tasks[this.#head++] = undefined;
        continue;
      }
      if (!this.#host.send(task)) {
        if (this.#host.failIfUnrunnable(task)) continue;
        break;
      }
      tasks[this.#head++] = undefined;
      this.#count--;
    }
    // Slots behind the head are cleared so settled tasks are not kept alive by the queue.
    if (this.#count === 0) {
      tasks.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > tasks.length) {
      tasks.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
