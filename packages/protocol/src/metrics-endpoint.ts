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
