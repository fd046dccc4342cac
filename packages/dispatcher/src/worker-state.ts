/**
 * What the dispatcher keeps of one live worker, and of a task's attempt on it.
 * Membership makes and retires these records; routing reads them on every send.
 * An attempt goes on a worker's books through {@link assign} and off them
 * through {@link release}, the only places `inflight` changes while the worker
 * is live, so the strategy, which may keep workers in order of load, hears of
 * every change (`onLoad`).
 */
import type { WorkerInfo } from '@ringcast/protocol';
import type { Liveness } from './liveness.js';
import type { Weighted } from './strategy.js';
import type { TaskRecord } from './task.js';

export interface WorkerState extends Weighted, Liveness {
  readonly id: string;
  readonly incarnation: string;
  /** What the worker registered; replaced when its weight changes (membership.ts). */
  info: WorkerInfo;
  /** Its share of the ring; an operator may change it while the worker runs (`ringcast reweight`). */
  weight: number;
  readonly concurrency: number;
  /** Attempts this dispatcher may have on the worker: its concurrency plus its local queue, less slots stuck past their deadline. */
  capacity: number;
  /** The largest frame it accepts. */
  readonly maxMessageBytes: number;
  readonly handlers: ReadonlySet<string>;
  readonly channel: string;
  inflight: number;
  /** Told of every change of `inflight` while the worker is live: the strategy's `loadChanged`, if it has one. */
  readonly onLoad: ((worker: WorkerState, delta: number) => void) | undefined;
  suspected: boolean;
  leaving: boolean;
  /** A BUSY nack keeps the worker out of picks until then (epoch ms). */
  busyUntil: number;
  lastSeen: number;
  gone: boolean;
}

/** A task in this dispatcher's ledger. */
export type Task = TaskRecord<WorkerState>;

/** A fresh record of a worker that registered, first seen at `now`. */
export function newWorkerState(
  info: WorkerInfo,
  channel: string,
  now: number,
  onLoad?: (worker: WorkerState, delta: number) => void,
): WorkerState {
  return {
    id: info.id,
    incarnation: info.incarnation,
    info,
    weight: info.weight,
    concurrency: info.concurrency,
    capacity: info.concurrency + info.maxQueue,
    maxMessageBytes: info.maxMessageBytes,
    handlers: new Set(info.handlers),
    channel,
    inflight: 0,
    onLoad,
    suspected: false,
    leaving: false,
    busyUntil: 0,
    lastSeen: now,
    gone: false,
    blockedMs: 0,
    blocked: false,
    stalledMs: 0,
    overdue: 0,
  };
}

/** Whether `w` may get new attempts at `now`, whatever its load. */
export function routable(w: WorkerState, now: number): boolean {
  return !w.suspected && !w.leaving && !w.gone && w.busyUntil <= now && !w.blocked;
}

/** Puts the task's new attempt on `w`'s books. */
export function assign(task: Task, w: WorkerState): void {
  task.worker = w;
  w.inflight++;
  w.onLoad?.(w, 1);
}

/** Takes the task's attempt off its worker's books. */
export function release(task: Task): void {
  const w = task.worker;
  if (!w) return;
  w.inflight--;
  task.worker = undefined;
  // A dead worker is off the strategy's books already.
  if (!w.gone) w.onLoad?.(w, -1);
}
