/**
 * OpenTelemetry, when the application has it. `@opentelemetry/api` is an
 * optional peer of the dispatcher and the worker: each loads it once, through
 * its own `require` (so it resolves from where that package is installed), and
 * gets undefined when it is not there. {@link Tracing.tracer} answers, for
 * every task, whether a tracer provider is registered: while none is, nothing
 * is traced, so no span, context or attribute object is made.
 *
 * The spans follow OpenTelemetry's messaging conventions: a PRODUCER span
 * `<handler> publish` per dispatched task, a CONSUMER span `<handler> process`
 * per attempt a worker runs, its parent the W3C trace context the attempt
 * carried (trace-context.ts).
 *
 * Published as `@ringcast/protocol/tracing` rather than from the package's
 * root, so that only code that imports it needs the API's types.
 */
import type * as OtelApi from '@opentelemetry/api';
import type { Attributes, Context, Span, Tracer, TracerProvider } from '@opentelemetry/api';
import {
  isValidTraceparent,
  isValidTracestate,
  TRACEPARENT_LENGTH,
  type TraceContext,
} from './trace-context.js';

type Api = typeof OtelApi;

export type { Span } from '@opentelemetry/api';

/** The span attributes ringcast sets; the `messaging.*` ones are OpenTelemetry's. */
export const TraceAttribute = {
  SYSTEM: 'messaging.system',
  OPERATION_TYPE: 'messaging.operation.type',
  OPERATION_NAME: 'messaging.operation.name',
  DESTINATION: 'messaging.destination.name',
  MESSAGE_ID: 'messaging.message.id',
  ERROR_TYPE: 'error.type',
  ATTEMPT: 'ringcast.attempt',
  WORKER_ID: 'ringcast.worker.id',
} as const;

/** `messaging.system` of every ringcast span. */
export const MESSAGING_SYSTEM = 'ringcast';

/**
 * Loads `@opentelemetry/api` through `require` (a `createRequire(import.meta.url)`
 * of the package that traces). Undefined when it is not installed, or is too
 * old to have what tracing uses: tracing is optional, and never the reason a
 * process fails to start.
 */
export function loadTracingApi(require: (id: string) => unknown): Api | undefined {
  try {
    const api = require('@opentelemetry/api') as Api;
    const usable =
      typeof api.trace?.getTracerProvider === 'function' &&
      typeof api.ProxyTracerProvider === 'function' &&
      typeof api.context?.with === 'function';
    return usable ? api : undefined;
  } catch {
    return undefined;
  }
}

/** {@link Tracing} for a package, through its own `require`; undefined when the API is not installed. */
export function createTracing(
  require: (id: string) => unknown,
  name: string,
  version?: string,
): Tracing | undefined {
  const api = loadTracingApi(require);
  return api === undefined ? undefined : new Tracing(api, name, version);
}

/** Spans for one package (its tracer's name, and version if given), on the API the package loaded. */
export class Tracing {
  readonly #api: Api;
  readonly #name: string;
  readonly #version: string | undefined;
  /** What the API's provider delegates to while no provider is registered. */
  readonly #noop: TracerProvider;
  /** The registered provider the tracer below came from, to notice a new one. */
  #provider: TracerProvider | undefined;
  #tracer: Tracer | undefined;

  constructor(api: Api, name: string, version?: string) {
    this.#api = api;
    this.#name = name;
    this.#version = version;
    this.#noop = new api.ProxyTracerProvider().getDelegate();
  }

  /**
   * The registered provider's tracer, or undefined while no provider is
   * registered. Asked once per task: it costs a few property reads (~15 ns)
   * and allocates nothing, and it sees a provider registered (or a tracing
   * shut down) at any time.
   */
  tracer(): Tracer | undefined {
    const global = this.#api.trace.getTracerProvider();
    // The API hands out a proxy; another copy of the API registers its own.
    const proxy = global as Partial<OtelApi.ProxyTracerProvider>;
    const provider = typeof proxy.getDelegate === 'function' ? proxy.getDelegate() : global;
    if (provider === this.#noop) return undefined;
    if (provider !== this.#provider) {
      this.#provider = provider;
      this.#tracer = global.getTracer(this.#name, this.#version);
    }
    return this.#tracer;
  }

  /**
   * Starts the PRODUCER span of a task, a child of the caller's active
   * context. `attributes` holds the task's; the messaging ones are added.
   */
  startProducer(tracer: Tracer, handler: string, attributes: Attributes): Span {
    const api = this.#api;
    return tracer.startSpan(
      `${handler} publish`,
      {
        kind: api.SpanKind.PRODUCER,
        attributes: messagingAttributes(handler, 'publish', attributes),
      },
      api.context.active(),
    );
  }

  /**
   * Starts the CONSUMER span of one attempt, continuing the trace it carried
   * (a root span if it carried none), and returns it with the context to run
   * the handler in.
   */
  startConsumer(
    tracer: Tracer,
    handler: string,
    trace: TraceContext | undefined,
    attributes: Attributes,
  ): { span: Span; context: Context } {
    const api = this.#api;
    // Not the active context: a message callback's is whatever the connection's was.
    const parent = this.#remoteContext(trace);
    const span = tracer.startSpan(
      `${handler} process`,
      {
        kind: api.SpanKind.CONSUMER,
        attributes: messagingAttributes(handler, 'process', attributes),
      },
      parent,
    );
    return { span, context: api.trace.setSpan(parent, span) };
  }

  /** Runs `fn` with `context` active, so that spans it starts nest under that context's span. */
  run<A extends unknown[], R>(context: Context, fn: (...args: A) => R, ...args: A): R {
    return this.#api.context.with(context, fn, undefined, ...args);
  }

  /**
   * The W3C trace context that continues `span`'s trace below it. Undefined if
   * the span's ids could not go on the wire (an id generator of another format).
   */
  contextOf(span: Span): TraceContext | undefined {
    const { traceId, spanId, traceFlags, traceState } = span.spanContext();
    const flags = (traceFlags & 0xff).toString(16).padStart(2, '0');
    const traceparent = `00-${traceId}-${spanId}-${flags}`;
    if (!isValidTraceparent(traceparent)) return undefined;
    const tracestate = traceState?.serialize();
    return tracestate !== undefined && isValidTracestate(tracestate)
      ? { traceparent, tracestate }
      : { traceparent };
  }

  /** Ends `span`; with a `code`, as failed (status ERROR, `error.type` the code). */
  end(span: Span, code?: string, message?: string): void {
    if (code !== undefined) {
      span.setAttribute(TraceAttribute.ERROR_TYPE, code);
      span.setStatus({ code: this.#api.SpanStatusCode.ERROR, message: message ?? code });
    }
    span.end();
  }

  #remoteContext(trace: TraceContext | undefined): Context {
    const api = this.#api;
    if (trace === undefined) return api.ROOT_CONTEXT;
    const { traceparent, tracestate } = trace;
    const spanContext: OtelApi.SpanContext = {
      traceId: traceparent.slice(3, 35),
      spanId: traceparent.slice(36, 52),
      traceFlags: Number.parseInt(traceparent.slice(53, TRACEPARENT_LENGTH), 16),
      isRemote: true,
    };
    if (tracestate !== undefined && typeof api.createTraceState === 'function') {
      spanContext.traceState = api.createTraceState(tracestate);
    }
    return api.trace.setSpanContext(api.ROOT_CONTEXT, spanContext);
  }
}

function messagingAttributes(
  handler: string,
  operation: 'publish' | 'process',
  attributes: Attributes,
): Attributes {
  attributes[TraceAttribute.SYSTEM] = MESSAGING_SYSTEM;
  attributes[TraceAttribute.OPERATION_TYPE] = operation;
  attributes[TraceAttribute.OPERATION_NAME] = operation;
  attributes[TraceAttribute.DESTINATION] = handler;
  return attributes;
}
