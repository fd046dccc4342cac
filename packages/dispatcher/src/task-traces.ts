/**
 * The trace of each task in flight, when there is one: the W3C context its
 * attempts carry, and the PRODUCER span `dispatch()` started for it, which ends
 * when the task settles (status ERROR with the code if it failed). Retries and
 * redeliveries stay in the one span: each attempt is an event on it, and the
 * span's `ringcast.attempt` and `ringcast.worker.id` are the last attempt's.
 *
 * Kept beside the task records rather than in them: while nothing is traced the
 * map is empty, a task record is no larger, and every hook below is one size
 * check. A durable task claimed from the backlog carries the context its
 * record stored, without a span here: its producer span was its submitter's.
 */
import { createRequire } from 'node:module';
import {
  type ErrorCode,
  errorMessage,
  isRingcastError,
  type TraceContext,
} from '@ringcast/protocol';
import { createTracing, type Span, TraceAttribute } from '@ringcast/protocol/tracing';
import { traceBytes } from './task-size.js';
import type { Task, WorkerState } from './worker-state.js';

/** OpenTelemetry for this package, if the application installed it. */
const tracing = createTracing(createRequire(import.meta.url), '@ringcast/dispatcher');

/** A producer span with the context it passes on; the span ends on {@link endProducer}. */
export interface Producer {
  readonly span: Span;
  readonly context: TraceContext | undefined;
}

interface TracedTask {
  readonly context: TraceContext | undefined;
  readonly span: Span | undefined;
}

export class TaskTraces {
  readonly #traced = new Map<Task, TracedTask>();

  /**
   * Starts a producer span for a task with id `id`, a child of the caller's
   * active context; undefined, at the cost of one check, while no tracer
   * provider is registered (or OpenTelemetry is not installed).
   */
  startProducer(handler: string, id: string): Producer | undefined {
    const tracer = tracing?.tracer();
    if (tracer === undefined) return undefined;
    const span = tracing!.startProducer(tracer, handler, { [TraceAttribute.MESSAGE_ID]: id });
    return { span, context: tracing!.contextOf(span) };
  }

  /** Ends a span from {@link startProducer}; as failed if there is a `failure` (a thrown error). */
  endProducer(producer: Producer, failure?: unknown): void {
    if (failure === undefined) {
      tracing?.end(producer.span);
      return;
    }
    const code = isRingcastError(failure)
      ? failure.code
      : failure instanceof Error
        ? failure.name
        : 'Error';
    tracing?.end(producer.span, code, errorMessage(failure));
  }

  /** Traces a task `dispatch()` admitted, if a tracer is registered. */
  start(task: Task): void {
    const producer = this.startProducer(task.handler, task.id);
    if (producer === undefined) return;
    this.#traced.set(task, producer);
    // Workers that could not take the task with its trace context do not get it.
    task.bytes += traceBytes(producer.context);
  }

  /** A claimed durable task continues the trace its record stored (its size counts it already). */
  carry(task: Task, context: TraceContext): void {
    this.#traced.set(task, { context, span: undefined });
  }

  /** The trace context `task`'s attempts carry, if it has one. */
  of(task: Task): TraceContext | undefined {
    if (this.#traced.size === 0) return undefined;
    return this.#traced.get(task)?.context;
  }

  /** An attempt of `task` went to `worker`. */
  attempted(task: Task, worker: WorkerState): void {
    if (this.#traced.size === 0) return;
    const span = this.#traced.get(task)?.span;
    if (span === undefined) return;
    const attributes = {
      [TraceAttribute.ATTEMPT]: task.attempt,
      [TraceAttribute.WORKER_ID]: worker.id,
    };
    span.setAttributes(attributes);
    span.addEvent('ringcast.attempt', attributes);
  }

  /** `task` settled (failed if `code` is given): its trace ends. */
  settled(task: Task, code?: ErrorCode, message?: string): void {
    if (this.#traced.size === 0) return;
    const traced = this.#traced.get(task);
    if (traced === undefined) return;
    this.#traced.delete(task);
    if (traced.span !== undefined) tracing?.end(traced.span, code, message);
  }
}
