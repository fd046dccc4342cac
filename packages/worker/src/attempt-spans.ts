/**
 * The CONSUMER span of each handler run, when a tracer provider is registered:
 * `<handler> process`, the child of the trace context the attempt carried (a
 * root span if it carried none), active while the handler runs, so that the
 * handler's own spans and `trace.getActiveSpan()` nest under it (through the
 * application's context manager). It ends with the run: status ERROR and the
 * code (`HANDLER_ERROR`, `TIMEOUT`, `CANCELLED`, …) if it failed.
 *
 * Kept beside the attempts rather than in them: while nothing is traced the
 * map stays empty and an attempt is no larger.
 */
import { createRequire } from 'node:module';
import type { TaskMessage, TraceContext } from '@ringcast/protocol';
import { createTracing, type Span, TraceAttribute } from '@ringcast/protocol/tracing';
import type { Attempt } from './attempt.js';
import type { HandlerContext } from './options.js';

/** OpenTelemetry for this package, if the application installed it. */
const tracing = createTracing(createRequire(import.meta.url), '@ringcast/worker');

export class AttemptSpans {
  readonly #workerId: string;
  readonly #spans = new Map<Attempt, Span>();

  constructor(workerId: string) {
    this.#workerId = workerId;
  }

  /** Runs the attempt's handler, inside its consumer span if a tracer is registered. */
  run(attempt: Attempt, ctx: HandlerContext): unknown {
    const tracer = tracing?.tracer();
    const { task } = attempt;
    if (tracer === undefined) return attempt.handler(task.payload, ctx);
    const { span, context } = tracing!.startConsumer(tracer, task.handler, traceOf(task), {
      [TraceAttribute.MESSAGE_ID]: task.id,
      [TraceAttribute.ATTEMPT]: task.attempt,
      [TraceAttribute.WORKER_ID]: this.#workerId,
    });
    this.#spans.set(attempt, span);
    return tracing!.run(context, attempt.handler, task.payload, ctx);
  }

  /** The attempt's handler run ended (failed if `code` is given): its span ends. */
  ended(attempt: Attempt, code?: string, message?: string): void {
    if (this.#spans.size === 0) return;
    const span = this.#spans.get(attempt);
    if (span === undefined) return;
    this.#spans.delete(attempt);
    tracing?.end(span, code, message);
  }
}

function traceOf(task: TaskMessage): TraceContext | undefined {
  if (task.traceparent === undefined) return undefined;
  return task.tracestate === undefined
    ? { traceparent: task.traceparent }
    : { traceparent: task.traceparent, tracestate: task.tracestate };
}
