// Trace propagation through the real cores, both in this process on the
// in-memory Redis and a virtual clock: dispatch() makes a PRODUCER span, the
// worker a CONSUMER span that continues its trace, and the handler's own spans
// nest under that. With no tracer provider registered, nothing is traced and
// the frames are what they were before tracing existed.
import { createRequire } from 'node:module';
import {
  context,
  createTraceState,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createDispatcherCore, MemoryTransport } from '@ringcast/dispatcher/internal';
import { CompactKind, MemoryRedis, names, ProcessClock, VirtualClock } from '@ringcast/protocol';
import type { Handler } from '@ringcast/worker';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryTracing } from './testing/memory-tracing.js';
import { untilSettled } from './testing/until-settled.js';
import { fastWorkerCore } from './testing/worker-core.js';

const NS = 'tr';
const n = names(NS);

let tracing: MemoryTracing | undefined;

afterEach(async () => {
  await tracing?.stop();
  tracing = undefined;
  vi.restoreAllMocks();
});

const dispatcherOptions = (id: string) => ({
  namespace: NS,
  id,
  logger: false as const,
  timeoutMs: 5_000,
  ackTimeoutMs: 500,
  reconcileIntervalMs: 100,
  ownerHeartbeatMs: 100,
  retryBackoffMs: 10,
  maxRetryBackoffMs: 10,
});

/** A worker `w1` with `handlers` and a dispatcher `d1`, started. */
async function deploy(handlers: Record<string, Handler>) {
  const clock = new VirtualClock();
  const redis = new MemoryRedis(clock);
  const until = untilSettled(clock);
  const worker = fastWorkerCore(redis, NS, handlers);
  const dispatcher = createDispatcherCore(new MemoryTransport(redis), dispatcherOptions('d1'));
  await until(worker.start());
  await until(dispatcher.start());
  await clock.runUntil(clock.now() + 300, () => dispatcher.workers().length === 1);
  const close = async () => {
    await until(dispatcher.close());
    await until(worker.close());
  };
  return { clock, redis, until, worker, dispatcher, close };
}

const ids = (span: ReadableSpan) => span.spanContext();

function onlySpan(spans: ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((s) => s.name === name);
  expect(found, `${name} among ${spans.map((s) => s.name).join(', ')}`).toHaveLength(1);
  return found[0]!;
}

describe('with a tracer provider registered', () => {
  it('continues the caller’s trace: a producer span, and a consumer span under it', async () => {
    tracing = new MemoryTracing().start();
    const d = await deploy({ echo: (payload) => payload });
    const app = trace.getTracer('app');
    let caller!: ReadableSpan['spanContext'];
    const result = await d.until(
      app.startActiveSpan('caller', (span) => {
        caller = () => span.spanContext();
        const dispatched = d.dispatcher.dispatch('echo', { x: 1 });
        span.end();
        return dispatched;
      }),
    );
    expect(result).toEqual({ x: 1 });
    await d.close();

    const spans = await tracing.spans();
    const producer = onlySpan(spans, 'echo publish');
    const consumer = onlySpan(spans, 'echo process');
    expect(producer.kind).toBe(SpanKind.PRODUCER);
    expect(consumer.kind).toBe(SpanKind.CONSUMER);
    // One trace, from the caller down.
    expect(ids(producer).traceId).toBe(caller().traceId);
    expect(producer.parentSpanContext?.spanId).toBe(caller().spanId);
    expect(ids(consumer).traceId).toBe(caller().traceId);
    expect(consumer.parentSpanContext?.spanId).toBe(ids(producer).spanId);
    expect(consumer.parentSpanContext?.isRemote).toBe(true);
    const taskId = producer.attributes['messaging.message.id'];
    expect(typeof taskId).toBe('string');
    expect(producer.attributes).toEqual({
      'messaging.system': 'ringcast',
      'messaging.operation.type': 'publish',
      'messaging.operation.name': 'publish',
      'messaging.destination.name': 'echo',
      'messaging.message.id': taskId,
      'ringcast.attempt': 1,
      'ringcast.worker.id': 'w1',
    });
    expect(consumer.attributes).toEqual({
      'messaging.system': 'ringcast',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': 'echo',
      'messaging.message.id': taskId,
      'ringcast.attempt': 1,
      'ringcast.worker.id': 'w1',
    });
    expect(producer.status.code).toBe(SpanStatusCode.UNSET);
    expect(consumer.status.code).toBe(SpanStatusCode.UNSET);
    expect(producer.events.map((e) => [e.name, e.attributes])).toEqual([
      ['ringcast.attempt', { 'ringcast.attempt': 1, 'ringcast.worker.id': 'w1' }],
    ]);
  });

  it('makes the consumer span active while the handler runs, so its own spans nest under it', async () => {
    tracing = new MemoryTracing().start();
    let activeInHandler: string | undefined;
    const d = await deploy({
      nested: async () => {
        activeInHandler = trace.getActiveSpan()?.spanContext().spanId;
        const app = trace.getTracer('app');
        // Across an await: the context manager carries the consumer span there.
        await Promise.resolve();
        return app.startActiveSpan('handler work', (span) => {
          span.end();
          return 'done';
        });
      },
    });
    expect(await d.until(d.dispatcher.dispatch('nested', null))).toBe('done');
    await d.close();

    const spans = await tracing.spans();
    const consumer = onlySpan(spans, 'nested process');
    const work = onlySpan(spans, 'handler work');
    expect(activeInHandler).toBe(ids(consumer).spanId);
    expect(work.parentSpanContext?.spanId).toBe(ids(consumer).spanId);
    expect(ids(work).traceId).toBe(ids(consumer).traceId);
    // The worker's message callback does not leak the consumer span to what runs after.
    expect(trace.getActiveSpan()).toBeUndefined();
  });

  it('ends both spans as failed, with the code, when the handler fails', async () => {
    tracing = new MemoryTracing().start();
    const d = await deploy({
      fail: () => {
        throw new Error('no such order');
      },
    });
    await expect(d.until(d.dispatcher.dispatch('fail', 1))).rejects.toMatchObject({
      code: 'HANDLER_ERROR',
    });
    await d.close();

    const spans = await tracing.spans();
    const producer = onlySpan(spans, 'fail publish');
    const consumer = onlySpan(spans, 'fail process');
    for (const span of [producer, consumer]) {
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(span.attributes['error.type']).toBe('HANDLER_ERROR');
    }
    expect(consumer.status.message).toBe('no such order');
    expect(producer.status.message).toContain('no such order');
  });

  it('ends both spans TIMEOUT when the task outlives its timeout', async () => {
    tracing = new MemoryTracing().start();
    let aborted = false;
    const d = await deploy({
      slow: (_payload, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            reject(ctx.signal.reason);
          });
        }),
    });
    await expect(
      d.until(d.dispatcher.dispatch('slow', 1, { timeoutMs: 300 })),
    ).rejects.toMatchObject({ code: 'TIMEOUT' });
    // The worker's own deadline sweep aborts the handler a moment later.
    await d.clock.runUntil(d.clock.now() + 1_000, () => aborted);
    await d.close();

    const spans = await tracing.spans();
    const producer = onlySpan(spans, 'slow publish');
    const consumer = onlySpan(spans, 'slow process');
    expect(producer.attributes['error.type']).toBe('TIMEOUT');
    expect(consumer.attributes['error.type']).toBe('TIMEOUT');
    expect(consumer.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('keeps one producer span across retries: an event per attempt, a consumer span each', async () => {
    tracing = new MemoryTracing().start();
    let runs = 0;
    const d = await deploy({
      flaky: () => {
        runs++;
        if (runs === 1) throw Object.assign(new Error('try again'), { retryable: true });
        return runs;
      },
    });
    expect(await d.until(d.dispatcher.dispatch('flaky', null, { retries: 2 }))).toBe(2);
    await d.close();

    const spans = await tracing.spans();
    const producer = onlySpan(spans, 'flaky publish');
    const consumers = spans.filter((s) => s.name === 'flaky process');
    expect(consumers.map((s) => s.attributes['ringcast.attempt'])).toEqual([1, 2]);
    for (const consumer of consumers) {
      expect(consumer.parentSpanContext?.spanId).toBe(ids(producer).spanId);
      expect(ids(consumer).traceId).toBe(ids(producer).traceId);
    }
    expect(consumers.map((s) => s.status.code)).toEqual([
      SpanStatusCode.ERROR,
      SpanStatusCode.UNSET,
    ]);
    expect(producer.events.map((e) => e.attributes?.['ringcast.attempt'])).toEqual([1, 2]);
    expect(producer.attributes['ringcast.attempt']).toBe(2);
    expect(producer.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('passes the caller’s tracestate on to the worker', async () => {
    tracing = new MemoryTracing().start();
    const d = await deploy({ echo: (payload) => payload });
    const remote = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: 1,
      isRemote: true,
      traceState: createTraceState('vendor=abc,other=1'),
    });
    await d.until(context.with(remote, () => d.dispatcher.dispatch('echo', 1)));
    await d.close();

    const consumer = onlySpan(await tracing.spans(), 'echo process');
    expect(ids(consumer).traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(consumer.parentSpanContext?.traceState?.serialize()).toBe('vendor=abc,other=1');
  });

  it('stores a durable task’s trace, so the dispatcher that claims it continues it', async () => {
    tracing = new MemoryTracing().start();
    const clock = new VirtualClock();
    const redis = new MemoryRedis(clock);
    const until = untilSettled(clock);
    // d1 stores the task while no worker is up, and leaves.
    const d1 = createDispatcherCore(
      new MemoryTransport(redis, { clock: new ProcessClock(clock) }),
      dispatcherOptions('d1'),
    );
    await until(d1.start());
    const id = await until(d1.submit('echo', { x: 2 }));
    await until(d1.close());
    // d2 and a worker come later: d2 claims it from the backlog and runs it.
    const worker = fastWorkerCore(redis, NS, { echo: (p) => p });
    await until(worker.start());
    const d2 = createDispatcherCore(new MemoryTransport(redis), dispatcherOptions('d2'));
    await until(d2.start());
    expect(await until(d2.result(id))).toEqual({ x: 2 });
    await until(d2.close());
    await until(worker.close());

    const spans = await tracing.spans();
    const producer = onlySpan(spans, 'echo publish');
    const consumer = onlySpan(spans, 'echo process');
    expect(producer.attributes['messaging.message.id']).toBe(id);
    expect(consumer.attributes['messaging.message.id']).toBe(id);
    expect(ids(consumer).traceId).toBe(ids(producer).traceId);
    expect(consumer.parentSpanContext?.spanId).toBe(ids(producer).spanId);
  });

  it('ends a durable dispatch’s producer span with its outcome', async () => {
    tracing = new MemoryTracing().start();
    const d = await deploy({
      fail: () => {
        throw new Error('refused');
      },
    });
    await expect(
      d.until(d.dispatcher.dispatch('fail', 1, { durable: true })),
    ).rejects.toMatchObject({ code: 'HANDLER_ERROR' });
    await d.close();

    const spans = await tracing.spans();
    const producer = onlySpan(spans, 'fail publish');
    const consumer = onlySpan(spans, 'fail process');
    expect(producer.status.code).toBe(SpanStatusCode.ERROR);
    expect(producer.attributes['error.type']).toBe('HANDLER_ERROR');
    expect(consumer.parentSpanContext?.spanId).toBe(ids(producer).spanId);
  });
});

describe('with no tracer provider registered', () => {
  /** The frames the dispatcher publishes on w1's channel. */
  async function framesOf(run: (d: Awaited<ReturnType<typeof deploy>>) => Promise<unknown>) {
    const d = await deploy({ echo: (payload) => payload });
    const spy = d.redis.connect('spy');
    const frames: string[] = [];
    spy.onMessage((_channel, frame) => frames.push(frame));
    await d.until(spy.subscribe([n.workerChannel('w1')]));
    await run(d);
    await d.close();
    return frames;
  }

  it('adds nothing to the frame, and makes no span or context', async () => {
    // The copy of the API the packages load (createRequire), not this file's ESM one.
    const api = createRequire(import.meta.url)(
      '@opentelemetry/api',
    ) as typeof import('@opentelemetry/api');
    const noopTracer = new api.ProxyTracerProvider().getDelegate().getTracer('probe');
    const startSpan = vi.spyOn(Object.getPrototypeOf(noopTracer), 'startSpan');
    const setSpan = vi.spyOn(api.trace, 'setSpan');
    const setSpanContext = vi.spyOn(api.trace, 'setSpanContext');
    const withContext = vi.spyOn(api.context, 'with');

    const frames = await framesOf((d) =>
      d.until(d.dispatcher.dispatch('echo', { x: 1 }, { retries: 1 })),
    );
    expect(frames).toHaveLength(1);
    const frame = JSON.parse(frames[0]!) as { m: unknown[][] };
    expect(frame.m[0]![0]).toBe(CompactKind.TASK);
    expect(frame.m[0]).toHaveLength(6);
    expect(frames[0]).not.toMatch(/00-[0-9a-f]{32}-/);
    for (const spy of [startSpan, setSpan, setSpanContext, withContext]) {
      expect(spy).not.toHaveBeenCalled();
    }
  });

  it('sends the same frame as a traced dispatch less its trace field', async () => {
    const plain = await framesOf((d) => d.until(d.dispatcher.dispatch('echo', 'p')));
    tracing = new MemoryTracing().start();
    const traced = await framesOf((d) => d.until(d.dispatcher.dispatch('echo', 'p')));
    const [untracedTask] = (JSON.parse(plain[0]!) as { m: unknown[][] }).m;
    const [tracedTask] = (JSON.parse(traced[0]!) as { m: unknown[][] }).m;
    expect(tracedTask![0]).toBe(CompactKind.TRACED_TASK);
    // The same fields with the trace taken out (ids and deadlines aside: each run makes its own).
    const withoutTrace = [CompactKind.TASK, ...tracedTask!.slice(1, 5), ...tracedTask!.slice(6)];
    const comparable = (task: unknown[]) => task.filter((_, i) => i !== 1 && i !== 4);
    expect(comparable(withoutTrace)).toEqual(comparable(untracedTask!));
    expect(plain[0]!.length).toBeLessThan(traced[0]!.length);
  });

  it('stops tracing as soon as the provider is unregistered', async () => {
    tracing = new MemoryTracing().start();
    const frames = await framesOf(async (d) => {
      await d.until(d.dispatcher.dispatch('echo', 1));
      await tracing!.stop();
      tracing = undefined;
      await d.until(d.dispatcher.dispatch('echo', 2));
    });
    expect(frames.map((f) => (JSON.parse(f) as { m: unknown[][] }).m[0]![0])).toEqual([
      CompactKind.TRACED_TASK,
      CompactKind.TASK,
    ]);
  });
});
