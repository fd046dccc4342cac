/**
 * `ringcast dashboard` as a library call: a monitor of one deployment
 * (monitor.ts) behind an HTTP server (server.ts) that streams its snapshots
 * to the pages. Listens on 127.0.0.1 unless told otherwise: the dashboard has
 * no login. It answers only requests addressed to this machine's names, to
 * an IP address, to the address it listens on or to a name it is allowed
 * (host-check.ts). Closing ends the streams, the server and the Redis connections.
 */
import type { AddressInfo } from 'node:net';
import type { TlsMaterial } from '@ringcast/protocol';
import { Assets } from './assets.js';
import { EventStream } from './event-stream.js';
import { fleetMetrics } from './fleet-metrics.js';
import { hostCheck } from './host-check.js';
import { Monitor } from './monitor.js';
import { createDashboardServer } from './server.js';

export const DEFAULT_DASHBOARD_HOST = '127.0.0.1';
export const DEFAULT_DASHBOARD_PORT = 8080;

export interface DashboardOptions {
  /** The deployment's Redis URL. */
  redis: string;
  /** The startup nodes of the deployment's Redis Cluster: `redis` is then unused. */
  cluster?: ReadonlyArray<{ host: string; port: number }> | undefined;
  /** Certificates for a `rediss://` URL (the `--tls-*` flags), over Node's defaults. */
  tls?: TlsMaterial | undefined;
  namespace: string;
  /** @defaultValue {@link DEFAULT_DASHBOARD_HOST}: this machine only */
  host?: string;
  /** 0 for any free port. @defaultValue {@link DEFAULT_DASHBOARD_PORT} */
  port?: number;
  /**
   * Host names it answers besides `localhost`, IP addresses and `host`: the
   * names its users reach it by (behind a proxy, in DNS). @defaultValue none
   */
  allowHosts?: readonly string[];
  /** Where it says that Redis went away or came back. */
  log?: (line: string, level: 'info' | 'warn') => void;
}

export interface Dashboard {
  /** `http://<host>:<port>/` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Starts listening, then watching Redis; resolves once the first read was
 * tried (an unreachable Redis shows on the page, it does not fail the start).
 * Rejects with the server's error when it cannot listen (`EADDRINUSE`, …).
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? DEFAULT_DASHBOARD_HOST;
  const monitor = new Monitor({
    redis: options.redis,
    ...(options.cluster && { cluster: options.cluster }),
    tls: options.tls,
    namespace: options.namespace,
    ...(options.log ? { log: options.log } : {}),
  });
  const events = new EventStream();
  monitor.subscribe({
    snapshot: (snapshot) => events.send('snapshot', snapshot),
    sample: (sample) => events.send('sample', sample),
  });
  const server = createDashboardServer({
    hostAllowed: hostCheck(host, options.allowHosts),
    snapshot: () => monitor.snapshot(),
    history: () => monitor.history(),
    events,
    metrics: fleetMetrics(() => monitor.snapshot()),
    assets: new Assets(),
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? DEFAULT_DASHBOARD_PORT, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await monitor.close();
    throw error;
  }
  // Past listening, a server error concerns one connection: the dashboard goes on.
  server.on('error', (error) => options.log?.(`server: ${error.message}`, 'warn'));
  await monitor.start();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    port,
    async close() {
      events.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // A page's open keep-alive connection would hold close() until the browser let go.
      server.closeAllConnections();
      await Promise.all([closed, monitor.close()]);
    },
  };
}
