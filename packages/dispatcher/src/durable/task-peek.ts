/**
 * A task's state and expiry, read without its record: what the periodic look of
 * `result()` waiters needs (`record-reads.ts`), which reads a record only once
 * there is something in it to read — it finished, it is gone, or it waited past
 * its `expiresAt` and is to be failed. Most waiters wait for tasks that are still
 * waiting or running; reading each of their whole records every second cost a
 * busy dispatcher a read per task (measured: 0.2–0.36 HGETALL per durable task
 * in the durable bench) and, with 50,000 waiters, most of its time.
 */
import { isTerminal, TASK_STATES, type TaskState } from './record.js';

export interface TaskPeek {
  state: TaskState;
  /** When a task not started by then is to fail `EXPIRED`, if it has such a bound. */
  expiresAt?: number;
}

const STATES = new Set<string>(TASK_STATES);
/** Decimal integers as the store writes them (as record-decode.ts reads them). */
const INTEGER = /^(?:0|[1-9][0-9]{0,15})$/;

/** The stored `state` and `expiresAt` fields as a peek; undefined for none, or one that does not read. */
export function peekOf(state: unknown, expiresAt: unknown): TaskPeek | undefined {
  if (typeof state !== 'string' || !STATES.has(state)) return undefined;
  const peek: TaskPeek = { state: state as TaskState };
  if (expiresAt === null || expiresAt === undefined) return peek;
  if (typeof expiresAt !== 'string' || !INTEGER.test(expiresAt)) return undefined;
  peek.expiresAt = Number(expiresAt);
  return peek;
}

/** Whether a waiter's look must read the record: it finished, is gone, or waited past its expiry. */
export function worthReading(peek: TaskPeek | undefined, now: number): boolean {
  if (peek === undefined || isTerminal(peek.state)) return true;
  const waits = peek.state === 'waiting' || peek.state === 'delayed';
  return waits && peek.expiresAt !== undefined && now > peek.expiresAt;
}
