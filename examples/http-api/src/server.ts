// The HTTP API: a node:http server with a ringcast dispatcher inside, as an application
// embeds one. Its routes are in routes.ts; this file starts and stops the two together.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDispatcher, type Dispatcher } from '@ringcast/dispatcher';
import { createRequestHandler } from './routes.js';
import type { Tasks } from './tasks.js';
import type { LogLevel } from './worker-process.js';

export interface ApiOptions {
  /** `redis://host:port` of the deployment. */
  redisUrl: string;
  /** Must match the workers'. */
  namespace: string;
  /** @defaultValue 0, any free port */
  port?: number;
  /** @defaultValue '127.0.0.1' */
  host?: string;
  /** Where the dispatcher's log lines and the API's own go. @defaultValue discarded */
  log?: (line: string, level: LogLevel) => void;
}

export interface Api {
  /** `http://host:port`, the port the server got. */
  readonly url: string;
  readonly dispatcher: Dispatcher<Tasks>;
  /** Stops taking requests, lets those in progress settle (up to the drain timeout), closes. */
  close(): Promise<void>;
}

/** A task waits at most this long for its outcome (the HTTP client waits as long). */
const TASK_TIMEOUT_MS = 10_000;
/** How long close() lets tasks in progress finish before they fail with CLOSED (503). */
const DRAIN_TIMEOUT_MS = 2_000;
/** The example's workers drain for 2 s; a second more before their work goes elsewhere. */
const LEAVE_GRACE_MS = 3_000;

export async function startApi(options: ApiOptions): Promise<Api> {
  const log = options.log ?? (() => {});
  const dispatcher = createDispatcher<Tasks>({
    redis: options.redisUrl,
    namespace: options.namespace,
    metrics: true,
    timeoutMs: TASK_TIMEOUT_MS,
    drainTimeoutMs: DRAIN_TIMEOUT_MS,
    leaveGraceMs: LEAVE_GRACE_MS,
    // Sees a worker that died without a word within a quarter second of its heartbeat lapsing.
    reconcileIntervalMs: 250,
    logger: {
      info: (line) => log(line, 'info'),
      warn: (line) => log(line, 'warn'),
      error: (line) => log(line, 'warn'),
    },
  });
  await dispatcher.start();
  const server = createServer(createRequestHandler(dispatcher, (line) => log(line, 'warn')));
  try {
    await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  } catch (error) {
    await dispatcher.close();
    throw error;
  }
  const { address, port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${address}:${port}`,
    dispatcher,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        // Requests waiting for tasks get their answers (or CLOSED) as the dispatcher drains.
        await dispatcher.close();
        server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
