/**
 * The CLI's metrics endpoint: a node:http server answering `/metrics` with the
 * worker's registry and 404 elsewhere, bound to 127.0.0.1 unless told
 * otherwise.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricsRequestHandler } from '@ringcast/protocol';

export const DEFAULT_METRICS_HOST = '127.0.0.1';

export interface MetricsServer {
  /** The port it listens on (the one chosen, for port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** Listens; rejects with the server's error (`EADDRINUSE`, …) if it cannot. */
export async function serveMetrics(
  handler: MetricsRequestHandler,
  port: number,
  host = DEFAULT_METRICS_HOST,
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/metrics') handler(req, res);
    else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found; metrics are at /metrics\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
