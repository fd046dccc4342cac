/** `ringcast inspect` as text: one labelled line per field the record holds. */
import type { TaskInfo } from '@ringcast/dispatcher';
import { formatMs } from './units.js';

function time(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

function after(epochMs: number, since: number, what: string): string {
  return `${time(epochMs)} (${formatMs(Math.max(0, epochMs - since))} after ${what})`;
}

export function renderTask(task: TaskInfo): string {
  const lines: Array<[string, string]> = [
    ['task', task.id],
    ['handler', task.handler],
    ['state', task.state],
    ['attempts', String(task.attempts)],
  ];
  if (task.worker !== undefined) lines.push(['worker', task.worker]);
  lines.push(['priority', String(task.priority)], ['created', time(task.createdAt)]);
  if (task.startedAt !== undefined) {
    lines.push(['started', after(task.startedAt, task.createdAt, 'created')]);
  }
  if (task.finishedAt !== undefined) {
    const since = task.startedAt ?? task.createdAt;
    lines.push(['finished', after(task.finishedAt, since, task.startedAt ? 'started' : 'created')]);
  }
  const encrypted = task.encrypted ?? {};
  if (task.state === 'succeeded' && encrypted.result === undefined)
    lines.push(['result', JSON.stringify(task.result) ?? 'undefined']);
  if (task.error !== undefined) {
    lines.push(['error', `${task.error.code}: ${task.error.message}`]);
    const { remote } = task.error;
    if (remote !== undefined) {
      const code = remote.code === undefined ? '' : ` [${remote.code}]`;
      const retry = remote.retryable ? ', retryable' : '';
      lines.push(['thrown', `${remote.name}${code}: ${remote.message}${retry}`]);
    }
  }
  // Sealed fields this reader has no key for: shown as such, never as a value.
  for (const [field, why] of Object.entries(encrypted)) lines.push([field, `(encrypted) ${why}`]);
  const width = Math.max(...lines.map(([label]) => label.length));
  return lines.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
}

/** The task as JSON prints it: every field present, null where the record has none. */
export function taskJson(task: TaskInfo): Record<string, unknown> {
  return Object.fromEntries(Object.entries(task).map(([key, value]) => [key, value ?? null]));
}
