import type { TaskInfo } from '@ringcast/dispatcher';
import { describe, expect, it } from 'vitest';
import { renderTask, taskJson } from './task-block.js';

const base: TaskInfo = {
  id: 't1',
  handler: 'resize',
  state: 'succeeded',
  attempts: 2,
  worker: 'w-1',
  priority: 5,
  createdAt: Date.UTC(2026, 0, 2, 3, 4, 5, 0),
  startedAt: Date.UTC(2026, 0, 2, 3, 4, 5, 12),
  finishedAt: Date.UTC(2026, 0, 2, 3, 4, 6, 512),
  result: { ok: true },
  error: undefined,
};

describe('renderTask', () => {
  it('shows a sealed result it has no key for as encrypted, never as a value', () => {
    const why = 'it is encrypted with key k1, which is not in this keyring';
    const text = renderTask({ ...base, result: undefined, encrypted: { result: why } });
    expect(text).toContain(`result    (encrypted) ${why}`);
    expect(text).not.toContain('undefined');
  });

  it('prints a succeeded task with its times and result', () => {
    expect(renderTask(base)).toBe(
      [
        'task      t1',
        'handler   resize',
        'state     succeeded',
        'attempts  2',
        'worker    w-1',
        'priority  5',
        'created   2026-01-02T03:04:05.000Z',
        'started   2026-01-02T03:04:05.012Z (12 ms after created)',
        'finished  2026-01-02T03:04:06.512Z (1.5 s after started)',
        'result    {"ok":true}',
      ].join('\n'),
    );
  });

  it('prints a failure with what the handler threw, and leaves out what the record lacks', () => {
    const text = renderTask({
      ...base,
      state: 'failed',
      worker: undefined,
      startedAt: undefined,
      result: undefined,
      error: {
        code: 'HANDLER_ERROR',
        message: 'handler resize failed: Error: too big',
        remote: { name: 'RangeError', message: 'too big', retryable: true, code: 'E_SIZE' },
      },
    });
    expect(text).not.toMatch(/^(worker|started|result)/m);
    expect(text).toContain('finished  2026-01-02T03:04:06.512Z (1.5 s after created)');
    expect(text).toContain('error     HANDLER_ERROR: handler resize failed: Error: too big');
    expect(text).toContain('thrown    RangeError [E_SIZE]: too big, retryable');
  });

  it('shows a waiting task as it is', () => {
    const waiting = renderTask({
      ...base,
      state: 'waiting',
      attempts: 0,
      worker: undefined,
      startedAt: undefined,
      finishedAt: undefined,
      result: undefined,
    });
    expect(waiting.split('\n').map((l) => l.split(/\s+/)[0])).toEqual([
      'task',
      'handler',
      'state',
      'attempts',
      'priority',
      'created',
    ]);
  });
});

describe('taskJson', () => {
  it('keeps every field, null where the record has none', () => {
    expect(taskJson({ ...base, worker: undefined, result: undefined })).toEqual({
      ...base,
      worker: null,
      result: null,
      error: null,
    });
  });
});
