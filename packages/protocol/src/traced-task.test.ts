// A task's trace context on the wire: the compact traced kinds and the object
// form carry it; an invalid one is left out and reported, and the task is kept.
import { describe, expect, it } from 'vitest';
import {
  decode,
  encodeCompactResend,
  encodeCompactTask,
  encodeFrame,
  encodeMessage,
  type FrameSender,
} from './codec.js';
import { CompactKind } from './compact-messages.js';
import type { TaskMessage } from './messages.js';
import { parseWorkerInfo } from './parse-message.js';
import type { TraceContext } from './trace-context.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const sender: FrameSender = { replyTo: 'd1', maxBytes: 1_000_000 };

function decodeTasks(parts: string[]) {
  const decoded = decode(encodeFrame(parts, sender));
  if (!decoded.ok) throw decoded.error;
  return {
    tasks: decoded.messages as TaskMessage[],
    rejected: decoded.rejected.map((r) => r.error.message),
    dropped: decoded.dropped?.map((e) => e.message),
  };
}

/** A compact task as a receiver may get it, whatever the sender wrote in its trace slot. */
function rawTask(kind: number, trace: unknown, resent = false): string {
  const head: unknown[] = [kind, 't1', 2, 'echo', 1e12];
  if (resent) head.push('inc-1');
  return JSON.stringify([...head, trace, { n: 1 }]);
}

describe('compact tasks with a trace context', () => {
  it('leaves an untraced task exactly as it was', () => {
    expect(encodeCompactTask('t1', 2, 'echo', 1000, '{"n":1}')).toBe(
      '[1,"t1",2,"echo",1000,{"n":1}]',
    );
    expect(encodeCompactResend('t1', 2, 'echo', 1000, 'inc-1', undefined)).toBe(
      '[2,"t1",2,"echo",1000,"inc-1"]',
    );
    const { tasks, dropped } = decodeTasks([encodeCompactTask('t1', 2, 'echo', 1000, '{"n":1}')]);
    expect(tasks[0]).not.toHaveProperty('traceparent');
    expect(dropped).toBeUndefined();
  });

  it.each<[string, TraceContext]>([
    ['a traceparent', { traceparent: TRACEPARENT }],
    [
      'a traceparent and tracestate',
      { traceparent: TRACEPARENT, tracestate: 'rojo=1,congo="q\\"' },
    ],
  ])('carries %s in a task and a re-send, with or without a payload', (_, trace) => {
    const parts = [
      encodeCompactTask('t1', 2, 'echo', 1000, '{"n":1}', trace),
      encodeCompactTask('t2', 1, 'echo', 1000, undefined, trace),
      encodeCompactResend('t3', 3, 'echo', 1000, 'inc-1', '[1]', trace),
      encodeCompactResend('t4', 1, 'echo', 1000, 'inc-1', undefined, trace),
    ];
    const { tasks, rejected, dropped } = decodeTasks(parts);
    expect(rejected).toEqual([]);
    expect(dropped).toBeUndefined();
    expect(tasks.map((t) => [t.id, t.token, t.traceparent, t.tracestate])).toEqual([
      ['t1', 't1.2', trace.traceparent, trace.tracestate],
      ['t2', 't2.1', trace.traceparent, trace.tracestate],
      ['t3', 't3.3', trace.traceparent, trace.tracestate],
      ['t4', 't4.1', trace.traceparent, trace.tracestate],
    ]);
    expect(tasks.map((t) => t.payload)).toEqual([{ n: 1 }, undefined, [1], undefined]);
    expect(tasks.map((t) => t.incarnation)).toEqual([undefined, undefined, 'inc-1', 'inc-1']);
    if (trace.tracestate === undefined) expect(tasks[0]).not.toHaveProperty('tracestate');
  });

  it.each([
    ['a malformed traceparent', 'not-a-traceparent', 'traceparent'],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, 'traceparent'],
    ['a number', 42, '"trace" must be'],
    ['an object', { traceparent: TRACEPARENT }, '"trace" must be'],
    ['an array of one', [TRACEPARENT], '"trace" must be'],
    ['a bad traceparent beside a good tracestate', ['00-xyz', 'rojo=1'], 'traceparent'],
  ])('runs a task whose trace is %s untraced, and reports it', (_, trace, why) => {
    for (const [kind, resent] of [
      [CompactKind.TRACED_TASK, false],
      [CompactKind.TRACED_RESEND, true],
    ] as const) {
      const { tasks, rejected, dropped } = decodeTasks([rawTask(kind, trace, resent)]);
      expect(rejected).toEqual([]);
      expect(tasks).toHaveLength(1);
      expect(tasks[0]).toMatchObject({ id: 't1', attempt: 2, payload: { n: 1 } });
      expect(tasks[0]).not.toHaveProperty('traceparent');
      expect(tasks[0]).not.toHaveProperty('tracestate');
      expect(dropped).toEqual([expect.stringContaining(why)]);
    }
  });

  it('keeps the traceparent and drops only an invalid tracestate', () => {
    const { tasks, dropped } = decodeTasks([
      rawTask(CompactKind.TRACED_TASK, [TRACEPARENT, 'UPPER=1']),
    ]);
    expect(tasks[0]?.traceparent).toBe(TRACEPARENT);
    expect(tasks[0]).not.toHaveProperty('tracestate');
    expect(dropped).toEqual([expect.stringContaining('"tracestate"')]);
  });

  it('refuses a traced task with too few or too many fields, naming its kind', () => {
    const short = JSON.stringify([CompactKind.TRACED_TASK, 't1', 1, 'echo', 1000]);
    const long = JSON.stringify([
      CompactKind.TRACED_RESEND,
      't1',
      1,
      'echo',
      1000,
      'i',
      TRACEPARENT,
      1,
      2,
    ]);
    const { rejected } = decodeTasks([short, long]);
    expect(rejected).toEqual([
      'invalid message: a compact traced task has 6 or 7 fields',
      'invalid message: a compact traced re-sent task has 7 or 8 fields',
    ]);
  });

  it('keeps a rejected traced task routable, so the worker can nack it', () => {
    const bad = JSON.stringify([CompactKind.TRACED_TASK, 't1', 1, 7, 1000, TRACEPARENT]);
    const decoded = decode(encodeFrame([bad], sender));
    if (!decoded.ok) throw decoded.error;
    expect(decoded.rejected[0]?.context).toEqual({
      kind: 'task',
      id: 't1',
      token: 't1.1',
      replyTo: 'd1',
    });
  });

  it('counts what each frame dropped apart from the next frame', () => {
    expect(decodeTasks([rawTask(CompactKind.TRACED_TASK, 'x')]).dropped).toHaveLength(1);
    expect(decodeTasks([rawTask(CompactKind.TRACED_TASK, TRACEPARENT)]).dropped).toBeUndefined();
  });
});

describe('object-form tasks with a trace context', () => {
  const task: TaskMessage = {
    kind: 'task',
    id: 't1',
    attempt: 1,
    token: 'tok',
    handler: 'echo',
    deadline: 1000,
    replyTo: 'd1',
  };

  it('carries traceparent and tracestate', () => {
    const traced = { ...task, traceparent: TRACEPARENT, tracestate: 'rojo=1' };
    const { tasks, dropped } = decodeTasks([encodeMessage(traced)]);
    expect(tasks[0]).toEqual(traced);
    expect(dropped).toBeUndefined();
  });

  it.each([
    ['an invalid traceparent', { traceparent: 'nope', tracestate: 'rojo=1' }, 1],
    ['a tracestate alone', { tracestate: 'rojo=1' }, 1],
    ['a non-string traceparent', { traceparent: 12 }, 1],
  ])('runs a task with %s untraced, and reports it', (_, fields, count) => {
    const { tasks, rejected, dropped } = decodeTasks([JSON.stringify({ ...task, ...fields })]);
    expect(rejected).toEqual([]);
    expect(tasks[0]).toEqual(task);
    expect(dropped).toHaveLength(count);
  });
});

describe('worker info', () => {
  const info = {
    id: 'w1',
    incarnation: 'i1',
    weight: 1,
    concurrency: 1,
    handlers: [],
    startedAt: 0,
  };

  it('keeps traceContext: true, the mark of a worker that reads traced tasks, and nothing else in its place', () => {
    expect(parseWorkerInfo({ ...info, traceContext: true }).traceContext).toBe(true);
    for (const other of [undefined, false, 'yes', 1]) {
      expect(parseWorkerInfo({ ...info, traceContext: other })).not.toHaveProperty('traceContext');
    }
  });
});
