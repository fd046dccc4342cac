/**
 * The local queue: tasks admitted while no worker could take them, highest
 * priority first and, within a priority, oldest first; tasks between attempts
 * are put back at the head of their priority (they waited longest).
 *
 * One FIFO lane per priority in use, kept in priority order: nearly every task
 * has the default priority, so a push and a pop stay O(1) (a lane lookup is a
 * scan over the few priorities in use, not a heap's log n per task). A settled
 * task is not searched for: it leaves the count at once and its lane when the
 * pump reaches it, so settling stays O(1).
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

/** The tasks of one priority, oldest first, from `head` on. */
interface Lane {
  readonly priority: number;
  tasks: Array<Task | undefined>;
  head: number;
}

export class LocalQueue {
  readonly #host: QueueHost;
  /** Highest priority first. The default priority's lane is never removed, so it is found without a scan. */
  #lanes: Lane[] = [];
  readonly #defaultLane: Lane = { priority: 0, tasks: [], head: 0 };
  #count = 0;

  constructor(host: QueueHost) {
    this.#host = host;
    this.#lanes.push(this.#defaultLane);
  }

  /** Tasks waiting. */
  get size(): number {
    return this.#count;
  }

  /** Queues a new task behind the others of its priority: New or Waiting → Queued. */
  push(task: Task): void {
    queue(task);
    this.#lane(task.priority).tasks.push(task);
    this.#count++;
  }

  /** Queues a task that is between attempts (Waiting → Queued) ahead of newer ones of its priority. */
  pushFront(task: Task): void {
    queue(task);
    const lane = this.#lane(task.priority);
    if (lane.head > 0) lane.tasks[--lane.head] = task;
    else lane.tasks.unshift(task);
    this.#count++;
  }

  /** A queued task settled: it no longer counts, and the pump will skip it. */
  dropped(): void {
    this.#count--;
  }

  /** Moves queued tasks to workers while there is capacity, highest priority first. */
  pump(): void {
    let blocked = false;
    for (const lane of this.#lanes) {
      if (!blocked && this.#count > 0) blocked = this.#pumpLane(lane);
    }
    if (this.#count === 0) {
      // Whatever is left is settled: let it go.
      this.#defaultLane.tasks.length = 0;
      this.#defaultLane.head = 0;
      if (this.#lanes.length > 1) this.#lanes = [this.#defaultLane];
      return;
    }
    for (const lane of this.#lanes) this.#compact(lane);
    if (this.#lanes.length > 1) this.#dropEmptyLanes();
  }

  /** Sends from `lane` until it is empty or a task cannot go; true in the second case. */
  #pumpLane(lane: Lane): boolean {
    const tasks = lane.tasks;
    while (lane.head < tasks.length) {
      const task = tasks[lane.head];
      if (task === undefined || task.state !== TaskState.Queued) {
        // Settled while queued; it was already uncounted.
        tasks[lane.head++] = undefined;
        continue;
      }
      if (!this.#host.send(task)) {
        if (this.#host.failIfUnrunnable(task)) continue;
        return true;
      }
      tasks[lane.head++] = undefined;
      this.#count--;
    }
    return false;
  }

  /** Clears the slots behind the head, so settled tasks are not kept alive by the queue. */
  #compact(lane: Lane): void {
    if (lane.head === lane.tasks.length) {
      lane.tasks.length = 0;
      lane.head = 0;
    } else if (lane.head > 1024 && lane.head * 2 > lane.tasks.length) {
      lane.tasks.splice(0, lane.head);
      lane.head = 0;
    }
  }

  #dropEmptyLanes(): void {
    this.#lanes = this.#lanes.filter(
      (lane) => lane === this.#defaultLane || lane.head < lane.tasks.length,
    );
  }

  /** The lane of `priority`, made in its place if there is none. */
  #lane(priority: number): Lane {
    if (priority === 0) return this.#defaultLane;
    const lanes = this.#lanes;
    let at = 0;
    while (at < lanes.length && lanes[at]!.priority > priority) at++;
    const found = lanes[at];
    if (found?.priority === priority) return found;
    const lane: Lane = { priority, tasks: [], head: 0 };
    lanes.splice(at, 0, lane);
    return lane;
  }
}
