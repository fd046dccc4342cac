import { createRequire } from 'node:module';
import * as api from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { isValidTraceparent } from './trace-context.js';
import { createTracing, loadTracingApi, Tracing } from './tracing.js';

afterEach(() => {
  api.trace.disable();
  api.context.disable();
});

describe('loadTracingApi', () => {
  it('loads the API through the require it is given', () => {
    expect(loadTracingApi(createRequire(import.meta.url))).toBeDefined();
  });

  it('is undefined when the API is not installed, or lacks what tracing uses', () => {
    const missing = () => {
      throw Object.assign(new Error("Cannot find module '@opentelemetry/api'"), {
        code: 'MODULE_NOT_FOUND',
      });
    };
    expect(loadTracingApi(missing)).toBeUndefined();
    expect(createTracing(missing, 'x')).toBeUndefined();
    expect(loadTracingApi(() => ({ trace: {} }))).toBeUndefined();
    expect(loadTracingApi(() => undefined)).toBeUndefined();
  });
});

describe('Tracing', () => {
  it('has no tracer while no provider is registered, and follows registrations', () => {
    const tracing = new Tracing(api, 'test');
    expect(tracing.tracer()).toBeUndefined();
    const first = new BasicTracerProvider();
    api.trace.setGlobalTracerProvider(first);
    const tracer = tracing.tracer();
    expect(tracer).toBeDefined();
    expect(tracing.tracer()).toBe(tracer);
    api.trace.disable();
    expect(tracing.tracer()).toBeUndefined();
    api.trace.setGlobalTracerProvider(new BasicTracerProvider());
    expect(tracing.tracer()).toBeDefined();
    expect(tracing.tracer()).not.toBe(tracer);
  });

  it('writes a span’s context as a W3C traceparent, with its tracestate', () => {
    api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const tracing = new Tracing(api, 'test');
    const parent = api.trace.setSpanContext(api.ROOT_CONTEXT, {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: api.TraceFlags.SAMPLED,
      traceState: api.createTraceState('vendor=1'),
    });
    api.trace.setGlobalTracerProvider(new BasicTracerProvider());
    const span = api.context.with(parent, () => tracing.startProducer(tracing.tracer()!, 'h', {}));
    const context = tracing.contextOf(span);
    expect(isValidTraceparent(context?.traceparent)).toBe(true);
    expect(context).toEqual({
      traceparent: `00-4bf92f3577b34da6a3ce929d0e0e4736-${span.spanContext().spanId}-01`,
      tracestate: 'vendor=1',
    });
    span.end();
  });

  it('gives no context for ids the wire cannot carry', () => {
    const tracing = new Tracing(api, 'test');
    const invalid = api.trace.wrapSpanContext(api.INVALID_SPAN_CONTEXT);
    expect(tracing.contextOf(invalid)).toBeUndefined();
  });

  it('continues a carried context in the consumer span, as a remote parent', () => {
    const tracing = new Tracing(api, 'test');
    api.trace.setGlobalTracerProvider(new BasicTracerProvider());
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const { span, context } = tracing.startConsumer(
      tracing.tracer()!,
      'h',
      { traceparent, tracestate: 'a=1' },
      {},
    );
    expect(span.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(span.spanContext().traceState?.serialize()).toBe('a=1');
    expect(api.trace.getSpan(context)).toBe(span);
    const root = tracing.startConsumer(tracing.tracer()!, 'h', undefined, {}).span;
    expect(root.spanContext().traceId).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    span.end();
    root.end();
  });
});
