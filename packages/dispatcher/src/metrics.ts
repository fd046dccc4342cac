/**
 * The dispatcher's Prometheus metrics, in a prom-client registry of its own
 * (two dispatchers in one process do not clash). Counts and gauges are read
 * when scraped, from the counters `stats()` reads; only the latency histogram
 * is updated per task, through one cached child per handler. Made only with
 * `metrics: true`.
 */
import {
  type HandlerStatsBook,
  type HistogramSeries,
  LabelledHistogram,
  MAX_TRACKED_HANDLERS,
  type MetricsRequestHandler,
  metricsHandler,
  OTHER_HANDLERS,
} from '@ringcast/protocol';
import { Counter, Gauge, type Metric, Registry } from 'prom-client';

/** A registry and the means to serve it. */
export interface Metrics {
  /** The prom-client registry holding this dispatcher's metrics (and only them). */
  readonly registry: Registry;
  /** The content type of the text the registry renders. */
  readonly contentType: string;
  /** Serves the registry's text to GET and HEAD: mount it at `/metrics` of your HTTP server. */
  readonly handler: MetricsRequestHandler;
}

/** What the gauges read at scrape time. */
export interface MetricsSource {
  readonly handlers: HandlerStatsBook;
  redelivered(): number;
  /** Frames dropped by frame authentication, by reason. */
  framesDropped(): Readonly<Record<string, number>>;
  inflight(): number;
  queued(): number;
  workers(): number;
}

export function dispatcherMetrics(
  source: MetricsSource,
): Metrics & { observe(handler: string, seconds: number): void } {
  const registry = new Registry();
  const { handlers } = source;
  new Counter({
    name: 'ringcast_dispatcher_tasks_total',
    help: 'Dispatched tasks that settled, by handler and outcome (ok or an error code).',
    labelNames: ['handler', 'outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [handler, s] of handlers.entries()) {
        this.inc({ handler, outcome: 'ok' }, s.succeeded);
        for (const [outcome, n] of Object.entries(s.failed)) this.inc({ handler, outcome }, n);
      }
    },
  });
  const duration = new LabelledHistogram(
    'ringcast_dispatcher_task_duration_seconds',
    'Time from dispatch() to settlement, by handler.',
    'handler',
  );
  registry.registerMetric(duration as unknown as Metric);
  new Counter({
    name: 'ringcast_dispatcher_redeliveries_total',
    help: 'New attempts made because an earlier one was lost, refused or failed.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(source.redelivered());
    },
  });
  new Counter({
    name: 'ringcast_dispatcher_frames_dropped_total',
    help: 'Frames dropped by frame authentication before they were parsed, by reason.',
    labelNames: ['reason'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(source.framesDropped())) this.inc({ reason }, n);
    },
  });
  const gauges = [
    [
      'ringcast_dispatcher_inflight',
      'Tasks sent to a worker, or between attempts.',
      source.inflight,
    ],
    [
      'ringcast_dispatcher_queued',
      'Tasks waiting in the local queue for a worker with room.',
      source.queued,
    ],
    ['ringcast_dispatcher_workers', 'Live workers this dispatcher knows.', source.workers],
  ] as const;
  for (const [name, help, read] of gauges) {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  }
  const children = new Map<string, HistogramSeries>();
  return {
    registry,
    contentType: registry.contentType,
    handler: metricsHandler(() => registry.metrics(), registry.contentType),
    observe(handler, seconds) {
      let child = children.get(handler);
      if (child === undefined) {
        // Handler names are the callers': past the bound they share one label value.
        const name = children.size < MAX_TRACKED_HANDLERS ? handler : OTHER_HANDLERS;
        child = children.get(name) ?? duration.series(name);
        children.set(handler, child);
      }
      duration.observe(child, seconds);
    },
  };
}
