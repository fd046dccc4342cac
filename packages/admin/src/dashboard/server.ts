/**
 * The dashboard's HTTP server (node:http): the page and its assets, the JSON
 * behind it, the event stream and the metrics. Every route only reads; a
 * method other than GET or HEAD is refused (405), an unknown path is 404.
 *
 *   GET /               the page
 *   GET /assets/<path>  its scripts and styles (assets.ts)
 *   GET /api/snapshot   DashboardSnapshot (wire.ts)
 *   GET /api/history    DashboardHistory
 *   GET /events         server-sent events: `snapshot` and `sample`
 *   GET /metrics        Prometheus text (fleet-metrics.ts)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { metricsHandler } from '@ringcast/protocol';
import { type Assets, INDEX } from './assets.js';
import type { EventStream } from './event-stream.js';
import type { FleetMetrics } from './fleet-metrics.js';
import type { DashboardHistory, DashboardSnapshot } from './wire.js';

export interface DashboardRoutes {
  snapshot(): DashboardSnapshot;
  history(): DashboardHistory;
  events: EventStream;
  metrics: FleetMetrics;
  assets: Assets;
}

/**
 * The page loads nothing from anywhere else and runs no inline script: say
 * so, so that a page that tried would be stopped by the browser.
 */
const PAGE_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function createDashboardServer(routes: DashboardRoutes): Server {
  const serveMetrics = metricsHandler(() => routes.metrics.text(), routes.metrics.contentType);
  return createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('method not allowed\n');
      return;
    }
    const path = pathOf(req);
    if (path === '/') void serveAsset(req, res, routes.assets, INDEX);
    else if (path.startsWith('/assets/')) {
      void serveAsset(req, res, routes.assets, decodePath(path.slice('/assets/'.length)));
    } else if (path === '/api/snapshot') sendJson(req, res, routes.snapshot());
    else if (path === '/api/history') sendJson(req, res, routes.history());
    else if (path === '/events') {
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
        res.end();
      } else routes.events.open(req, res, [['snapshot', routes.snapshot()]]);
    } else if (path === '/metrics') serveMetrics(req, res);
    else notFound(res);
  });
}

/** The request's path, without its query. */
function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/** A percent-encoded path, decoded; one that does not decode is served as nothing. */
function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return '\0';
  }
}

async function serveAsset(
  req: IncomingMessage,
  res: ServerResponse,
  assets: Assets,
  path: string,
): Promise<void> {
  const asset = await assets.read(path);
  if (asset === undefined) {
    notFound(res);
    return;
  }
  const headers: Record<string, string | number> = {
    'content-type': asset.type,
    'content-length': asset.body.length,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  };
  if (path === INDEX) headers['content-security-policy'] = PAGE_POLICY;
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : asset.body);
}

function sendJson(req: IncomingMessage, res: ServerResponse, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': body.length,
    'cache-control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  res.end('not found\n');
}
