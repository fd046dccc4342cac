// Producer spans on the dispatcher core alone: which workers get a task's trace
// context, and the spans of calls refused after their span started.

import { SpanStatusCode, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { CompactKind, ErrorCode } from '@ringcast/protocol';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { closeAll, n, outcome, setup } from './testing/core-fixture.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

beforeEach(() => {
  trace.setGlobalTracerProvider(provider);
});

afterEach(async () => {
  await closeAll();
  trace.disable();
  exporter.reset();
});

it('sends the trace context only to workers that say they read it, and the task runs on both', async () => {
  const { clock, redis, dispatcher, worker, join, start } = setup({ strategy: 'round-robin' });
  const reads = worker('reads', (task) => ({ ok: task.payload }), { traceContext: true });
  const old = worker('old', (task) => ({ ok: task.payload }));
  const frames: string[] = [];
  const spy = redis.connect('spy');
  spy.onMessage((_channel, frame) => frames.push(frame));
  const subscribed = spy.subscribe([n.workerChannel('old')]);
  await clock.advance(0);
  await subscribed;
  await join(reads);
  await join(old);
  await start();
  const results = [1, 2, 3, 4].map((i) => outcome(dispatcher.dispatch('echo', i)));
  await clock.advance(0);
  expect(results.map((r) => r.value)).toEqual([1, 2, 3, 4]);
  expect(reads.received.length).toBeGreaterThan(0);
  expect(old.received.length).toBeGreaterThan(0);
  for (const task of reads.received) expect(task.traceparent).toMatch(/^00-[0-9a-f]{32}-/);
  for (const task of old.received) expect(task).not.toHaveProperty('traceparent');
  // What the old worker got is the untraced kind, which it knows.
  for (const frame of frames) {
    for (const item of (JSON.parse(frame) as { m: unknown[][] }).m)
      expect(item[0]).toBe(CompactKind.TASK);
  }
  spy.close();
});

it('ends the span of a call refused QUEUE_FULL with that code, and of one closed with CLOSED', async () => {
  const { clock, dispatcher, start } = setup({ maxQueued: 1 });
  await start();
  const queued = outcome(dispatcher.dispatch('echo', 1));
  const refused = outcome(dispatcher.dispatch('echo', 2));
  await clock.advance(0);
  expect(refused.error?.code).toBe(ErrorCode.QUEUE_FULL);
  await closeAll();
  expect(queued.error?.code).toBe(ErrorCode.CLOSED);
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  expect(spans.map((s) => [s.name, s.status.code, s.attributes['error.type']])).toEqual([
    ['echo publish', SpanStatusCode.ERROR, ErrorCode.QUEUE_FULL],
    ['echo publish', SpanStatusCode.ERROR, ErrorCode.CLOSED],
  ]);
});
