/**
 * OpenTelemetry for tests: a global tracer provider that keeps finished spans
 * in memory, and the AsyncLocalStorage context manager, registered until
 * {@link MemoryTracing.stop}. Test-only: excluded from the build.
 */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

export class MemoryTracing {
  readonly exporter = new InMemorySpanExporter();
  readonly provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(this.exporter)],
  });
  readonly #contextManager = new AsyncLocalStorageContextManager();

  /** Registers the provider and the context manager globally. */
  start(): this {
    context.setGlobalContextManager(this.#contextManager.enable());
    trace.setGlobalTracerProvider(this.provider);
    return this;
  }

  /** Finished spans, in the order they ended, once every export under way is done. */
  async spans(): Promise<ReadableSpan[]> {
    await this.provider.forceFlush();
    return this.exporter.getFinishedSpans();
  }

  /** Unregisters everything, so the next test starts with no provider. */
  async stop(): Promise<void> {
    try {
      await this.provider.shutdown();
    } finally {
      trace.disable();
      context.disable();
    }
  }
}
