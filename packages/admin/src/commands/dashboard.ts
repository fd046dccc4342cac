import {
  createCliLogger,
  describeRedis,
  isLogFormat,
  LOG_FORMATS,
  type LogFormat,
  type ParsedValues,
  redactUrl,
  stringOption,
  UsageError,
} from '@ringcast/protocol';
import { positionalsOf } from '../cli-args.js';
import type { Command } from '../command.js';
import {
  DEFAULT_DASHBOARD_HOST,
  DEFAULT_DASHBOARD_PORT,
  startDashboard,
} from '../dashboard/dashboard.js';
import { MAX_EVENT_STREAMS, MAX_UNSENT_BYTES } from '../dashboard/event-stream.js';
import { CommandFailure } from '../errors.js';

interface DashboardArgs {
  host: string;
  port: number;
  allowHosts: string[];
  logFormat: LogFormat;
}

/** `--log-format`: text (the default) or json. */
function parseLogFormat(raw: string | undefined): LogFormat {
  if (raw === undefined) return 'text';
  if (!isLogFormat(raw)) {
    throw new UsageError(
      `--log-format must be ${LOG_FORMATS.join(' or ')}, got ${JSON.stringify(raw.slice(0, 80))}`,
    );
  }
  return raw;
}

/**
 * Where the dashboard's own lines go: stderr, `ringcast dashboard: <line>`, or
 * with `--log-format json` one JSON object per line on stdout (level, time,
 * msg, …), as `ringcast-worker --log-format json` writes them.
 */
function dashboardLog(format: LogFormat): (line: string, level: 'info' | 'warn') => void {
  if (format === 'text') return (line) => process.stderr.write(`ringcast dashboard: ${line}\n`);
  const logger = createCliLogger('json', 'ringcast-dashboard');
  return (line, level) => logger[level](line);
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

function parseHost(flag: string, raw: string): string {
  if (!/^[A-Za-z0-9.:_%-]{1,253}$/.test(raw)) {
    throw new UsageError(
      `--${flag} must be a host name or an IP address, got ${JSON.stringify(raw.slice(0, 80))}`,
    );
  }
  return raw;
}

/** Every `--allow-host` given (the flag repeats). */
function parseAllowHosts(raw: ParsedValues[string]): string[] {
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : [];
  return list.map((name) => parseHost('allow-host', name));
}

export const dashboardCommand: Command<DashboardArgs> = {
  name: 'dashboard',
  synopsis: 'dashboard',
  summary: 'serve the live web dashboard (127.0.0.1:8080 by default)',
  help: `Usage: ringcast dashboard [--port <n>] [--host <address>] [--allow-host <name>]… [options]

Serves a live web page of the deployment: its workers (state, weight, share of
the last minute's tasks against their share of the weight, in flight, stuck
slots, heartbeat age, execution times), per handler its outcomes, execution
time and end-to-end latency, throughput and latency charts of the last
fifteen minutes, errors by code, redeliveries and the durable backlog. It only reads Redis. A worker is live, missing (its heartbeat is
later than 1.5 intervals) or gone (its heartbeat expired; listed for a minute).

It listens on ${DEFAULT_DASHBOARD_HOST}, this machine only, unless --host says otherwise: the
dashboard has no login, so widen it (--host 0.0.0.0) only where every client
may see the deployment. It answers only requests addressed (the Host header)
to localhost, an IP address, --host, or a name given with --allow-host, so a
web page elsewhere cannot reach it through a DNS name re-pointed at this
machine (DNS rebinding): name the ones its users type with --allow-host. At
most ${MAX_EVENT_STREAMS} pages follow it at once (503 beyond); a page that stops reading is
dropped once ${MAX_UNSENT_BYTES / 1024 / 1024} MiB of events wait for it. Ctrl-C or SIGTERM stops it.

Endpoints: / (the page), /api/snapshot and /api/history (JSON), /events
(server-sent events), /metrics (Prometheus text).

Options:
  --port <n>           port to listen on, 0 for any free one (default ${DEFAULT_DASHBOARD_PORT})
  --host <address>     address to listen on (default ${DEFAULT_DASHBOARD_HOST})
  --allow-host <name>  a host name it answers besides localhost, IP addresses
                       and --host; repeat for more
  --log-format <text|json>  its own log lines (Redis lost and back): text on
                       stderr (default), or one JSON object per line on stdout

With --json the line it prints on start is JSON: { url, namespace, redis }.
`,
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'allow-host': { type: 'string', multiple: true },
    'log-format': { type: 'string' },
  },
  parse(values, positionals) {
    positionalsOf(positionals, []);
    const host = stringOption(values, 'host');
    return {
      port: parsePort(stringOption(values, 'port')),
      host: host === undefined ? DEFAULT_DASHBOARD_HOST : parseHost('host', host),
      allowHosts: parseAllowHosts(values['allow-host']),
      logFormat: parseLogFormat(stringOption(values, 'log-format')),
    };
  },
  async run(ctx, args) {
    const redis = ctx.cluster ? describeRedis({ cluster: ctx.cluster }) : redactUrl(ctx.redis);
    const stopped = signalled();
    let dashboard: Awaited<ReturnType<typeof startDashboard>>;
    try {
      dashboard = await startDashboard({
        redis: ctx.redis,
        cluster: ctx.cluster,
        tls: ctx.tls(),
        namespace: ctx.namespace,
        host: args.host,
        port: args.port,
        allowHosts: args.allowHosts,
        log: dashboardLog(args.logFormat),
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
