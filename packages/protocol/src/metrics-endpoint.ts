/**
 * What the dispatcher's and the worker's Prometheus metrics share, without
 * depending on prom-client here: the histogram buckets and the HTTP handler
 * that serves a registry's text.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Duration buckets in seconds, from 100 µs (a sub-millisecond echo) to a minute
 * (a slow job), about ×2–2.5 apart.
 */
export const DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
  30, 60,
];

/** One label value's buckets in a {@link LabelledHistogram}. */
export interface HistogramSeries {
  /** Per bucket (the last is +Inf), not cumulative. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A Prometheus histogram with one label, for prom-client's `registerMetric`
 * (it renders what `get()` returns, in the shape its own Histogram gives).
 * prom-client's Histogram hashes its labels on every `observe`, allocating per
 * task; here a series is found once per label value and observing is a short
 * scan and three additions.
 */
export class LabelledHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly label: string,
    readonly buckets: readonly number[] = DURATION_BUCKETS_SECONDS,
  ) {}

  series(value: string): HistogramSeries {
    let s = this.#series.get(value);
    if (s === undefined) {
      s = { counts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0 };
      this.#series.set(value, s);
    }
    return s;
  }

  observe(series: HistogramSeries, value: number): void {
    const buckets = this.buckets;
    let i = 0;
    while (i < buckets.length && value > buckets[i]!) i++;
    series.counts[i]!++;
    series.sum += value;
    series.count++;
  }

  reset(): void {
    this.#series.clear();
  }

  async get(): Promise<{
    name: string;
    help: string;
    type: 'histogram';
    aggregator: 'sum';
    values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }>;
  }> {
    const values: Array<{
      metricName: string;
      labels: Record<string, string | number>;
      value: number;
    }> = [];
    for (const [labelValue, s] of this.#series) {
      let acc = 0;
      this.buckets.forEach((le, i) => {
        acc += s.counts[i]!;
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { le, [this.label]: labelValue },
          value: acc,
        });
      });
      values.push({
        metricName: `${this.name}_bucket`,
        labels: { le: '+Inf', [this.label]: labelValue },
        value: s.count,
      });
      values.push({
        metricName: `${this.name}_sum`,
        labels: { [this.label]: labelValue },
        value: s.sum,
      });
      values.push({
        metricName: `${this.name}_count`,
        labels: { [this.label]: labelValue },
        value: s.count,
      });
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    };
  }
}

/** A request handler to mount in an HTTP server: `(req, res) => void`. */
export type MetricsRequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Answers any GET or HEAD with the registry's text (`read()`); other methods
 * get 405. Where it is mounted (the path) is the caller's choice.
 */
export function metricsHandler(
  read: () => Promise<string>,
  contentType: string,
): MetricsRequestHandler {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end('method not allowed\n');
      return;
    }
    read().then(
      (text) => {
        res.writeHead(200, { 'content-type': contentType });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('metrics could not be collected\n');
      },
    );
  };
}
