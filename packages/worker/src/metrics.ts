/**
 * The worker's Prometheus metrics, in a prom-client registry of its own (two
 * workers in one process do not clash). Counts and gauges are read from the
 * worker's statistics when scraped; only the duration histogram is updated per
 * task, through one cached child per handler. Made only with `metrics: true`.
 */
import {
  type HandlerStatsBook,
  type HistogramSeries,
  LabelledHistogram,
  type MetricsRequestHandler,
  metricsHandler,
} from '@ringcast/protocol';
import { Counter, Gauge, type Metric, Registry } from 'prom-client';
import type { ExecutionObserver } from './execution-stats.js';
import type { WorkerCounters } from './stats.js';

/** A registry and the means to serve it. */
export interface Metrics {
  /** The prom-client registry holding this instance's metrics (and only them). */
  readonly registry: Registry;
  /** The content type of the text the registry renders. */
  readonly contentType: string;
  /** Serves the registry's text: mount it at `/metrics` of your HTTP server. */
  readonly handler: MetricsRequestHandler;
}

export function workerMetrics(
  book: HandlerStatsBook,
  stats: WorkerCounters,
  framesDropped: () => Readonly<Record<string, number>>,
): Metrics & ExecutionObserver {
  const registry = new Registry();
  new Counter({
    name: 'ringcast_worker_frames_dropped_total',
    help: 'Frames dropped by frame authentication before they were parsed, by reason.',
    labelNames: ['reason'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(framesDropped())) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: 'ringcast_worker_tasks_total',
    help: 'Handler runs that ended, by handler and outcome (ok or an error code).',
    labelNames: ['handler', 'outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [handler, s] of book.entries()) {
        this.inc({ handler, outcome: 'ok' }, s.succeeded);
        for (const [outcome, n] of Object.entries(s.failed)) this.inc({ handler, outcome }, n);
      }
    },
  });
  const duration = new LabelledHistogram(
    'ringcast_worker_handler_duration_seconds',
    'Handler execution time, by handler.',
    'handler',
  );
  registry.registerMetric(duration as unknown as Metric);
  new Gauge({
    name: 'ringcast_worker_inflight',
    help: 'Handlers running now.',
    registers: [registry],
    collect() {
      this.set(stats.inflight);
    },
  });
  new Gauge({
    name: 'ringcast_worker_queued',
    help: 'Tasks waiting for a free slot now.',
    registers: [registry],
    collect() {
      this.set(stats.queued);
    },
  });
  new Gauge({
    name: 'ringcast_worker_stuck_slots',
    help: 'Slots held by handlers more than a second past their task deadline.',
    registers: [registry],
    collect() {
      this.set(stats.overdue);
    },
  });
  const children = new Map<string, HistogramSeries>();
  for (const [handler] of book.entries()) children.set(handler, duration.series(handler));
  return {
    registry,
    contentType: registry.contentType,
    handler: metricsHandler(() => registry.metrics(), registry.contentType),
    observe(handler, seconds) {
      let child = children.get(handler);
      if (child === undefined) {
        child = duration.series(handler);
        children.set(handler, child);
      }
      duration.observe(child, seconds);
    },
  };
}
