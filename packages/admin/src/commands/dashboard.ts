import { redactUrl, stringOption, UsageError } from '@ringcast/protocol';
import { positionalsOf } from '../cli-args.js';
import type { Command } from '../command.js';
import {
  DEFAULT_DASHBOARD_HOST,
  DEFAULT_DASHBOARD_PORT,
  startDashboard,
} from '../dashboard/dashboard.js';
import { CommandFailure } from '../errors.js';

interface DashboardArgs {
  host: string;
  port: number;
}

/** A `--port` value: 0 (any free port) to 65535. */
export function parsePort(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_DASHBOARD_PORT;
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65_535) {
    throw new UsageError(
      `--port must be a port number from 0 to 65535, got ${JSON.stringify(raw.slice(0, 80))}`,
    );
  }
  return Number(raw);
}

function parseHost(raw: string | undefined): string {
  if (raw === undefined) return DEFAULT_DASHBOARD_HOST;
  if (!/^[A-Za-z0-9.:_%-]{1,253}$/.test(raw)) {
    throw new UsageError(
      `--host must be a host name or an IP address, got ${JSON.stringify(raw.slice(0, 80))}`,
    );
  }
  return raw;
}

export const dashboardCommand: Command<DashboardArgs> = {
  name: 'dashboard',
  synopsis: 'dashboard',
  summary: 'serve the live web dashboard (127.0.0.1:8080 by default)',
  help: `Usage: ringcast dashboard [--port <n>] [--host <address>] [options]

Serves a live web page of the deployment: its workers (state, weight, share of
the last minute's tasks against their share of the weight, in flight, stuck
slots, heartbeat age, execution times), throughput and execution-time charts
of the last fifteen minutes, errors by code, redeliveries and the durable
backlog. It only reads Redis. A worker is live, missing (its heartbeat is
later than 1.5 intervals) or gone (its heartbeat expired; listed for a minute).

It listens on ${DEFAULT_DASHBOARD_HOST}, this machine only, unless --host says otherwise: the
dashboard has no login, so widen it (--host 0.0.0.0) only where every client
may see the deployment. Ctrl-C or SIGTERM stops it.

Endpoints: / (the page), /api/snapshot and /api/history (JSON), /events
(server-sent events), /metrics (Prometheus text).

Options:
  --port <n>           port to listen on, 0 for any free one (default ${DEFAULT_DASHBOARD_PORT})
  --host <address>     address to listen on (default ${DEFAULT_DASHBOARD_HOST})

With --json the line it prints on start is JSON: { url, namespace, redis }.
`,
  options: { port: { type: 'string' }, host: { type: 'string' } },
  parse(values, positionals) {
    positionalsOf(positionals, []);
    return {
      port: parsePort(stringOption(values, 'port')),
      host: parseHost(stringOption(values, 'host')),
    };
  },
  async run(ctx, args) {
    const redis = redactUrl(ctx.redis);
    const stopped = signalled();
    let dashboard: Awaited<ReturnType<typeof startDashboard>>;
    try {
      dashboard = await startDashboard({
        redis: ctx.redis,
        tls: ctx.tls(),
        namespace: ctx.namespace,
        host: args.host,
        port: args.port,
        log: (line) => process.stderr.write(`ringcast dashboard: ${line}\n`),
      });
    } catch (error) {
      stopped.cancel();
      throw new CommandFailure(listenFailure(error, args));
    }
    const { url } = dashboard;
    ctx.out(
      ctx.json
        ? JSON.stringify({ url, namespace: ctx.namespace, redis })
        : `ringcast dashboard: ${url} (namespace ${ctx.namespace}, Redis ${redis}); Ctrl-C stops it`,
    );
    await stopped.promise;
    await dashboard.close();
  },
};

/** Resolves at the first SIGINT or SIGTERM; `cancel` forgets the signals. */
function signalled(): { promise: Promise<void>; cancel(): void } {
  let cancel = () => {};
  const promise = new Promise<void>((resolve) => {
    const stop = () => {
      cancel();
      resolve();
    };
    cancel = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return { promise, cancel };
}

/** Why the server could not listen, in one line. */
function listenFailure(error: unknown, { host, port }: DashboardArgs): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const where = `${host}:${port}`;
  if (code === 'EADDRINUSE') return `cannot listen on ${where}: the port is in use (try --port)`;
  if (code === 'EACCES')
    return `cannot listen on ${where}: permission denied (try a port above 1023)`;
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return `cannot listen on ${where}: no such address on this machine`;
  }
  return `cannot listen on ${where}: ${error instanceof Error ? error.message : String(error)}`;
}
