#!/usr/bin/env node
import {
  createCliLogger,
  ErrorCode,
  errorMessage,
  isRingcastError,
  readAuthKeysFile,
} from '@ringcast/protocol';
import { loadHandlers, parseCliArgs, redisTarget, USAGE, UsageError } from './cli-args.js';
import { DEFAULT_METRICS_HOST, type MetricsServer, serveMetrics } from './metrics-server.js';
import { createWorker, type Worker } from './worker.js';

/** Extra time past the drain timeout for the leave, the last outcomes and the disconnect. */
const FORCE_EXIT_GRACE_MS = 5_000;

function usageError(message: string): never {
  process.stderr.write(`ringcast-worker: ${message} (see --help)\n`);
  process.exit(2);
}

/** One line on stderr, exit 1: a ringcast error (Redis unreachable, say) says all there is to say. */
function fatal(error: unknown): never {
  if (isRingcastError(error)) process.stderr.write(`ringcast-worker: ${errorMessage(error)}\n`);
  else console.error(error);
  process.exit(1);
}

async function main(): Promise<void> {
  let command: ReturnType<typeof parseCliArgs>;
  try {
    command = parseCliArgs(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof UsageError) usageError(error.message);
    throw error;
  }
  if (command.help) {
    process.stdout.write(USAGE);
    return;
  }
  const {
    handlers: path,
    metricsPort,
    metricsHost,
    logFormat,
    tls,
    cluster,
    authKeysFile,
    ...options
  } = command.config;
  const logger = createCliLogger(logFormat, 'ringcast-worker');
  // The CLI's own lines: `ringcast-worker: …` on stderr as ever, or JSON lines with the worker's.
  const say = (level: 'info' | 'error', message: string): void => {
    if (logFormat === 'json') logger[level](message);
    else console.error(`ringcast-worker: ${message}`);
  };
  let worker: Worker;
  try {
    const redis = cluster ? { cluster } : redisTarget(options.redis, tls);
    const handlers = await loadHandlers(path);
    worker = createWorker({
      ...options,
      redis,
      handlers,
      logger,
      metrics: metricsPort !== undefined,
    });
  } catch (error) {
    if (error instanceof UsageError) usageError(error.message);
    if (isRingcastError(error) && error.code === ErrorCode.INVALID_OPTIONS)
      usageError(error.message);
    throw error;
  }

  let metricsServer: MetricsServer | undefined;
  // However it closed (a signal, or an operator's `ringcast drain`), the process ends with it.
  void worker.closed.then(async ({ reason, error }) => {
    if (reason === 'start-failed') return;
    await metricsServer?.close().catch(() => undefined);
    if (error !== undefined) {
      say('error', `closing failed: ${errorMessage(error)}`);
      process.exit(1);
    }
    process.exit(0);
  });

  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      say('error', `${signal} again, exiting without draining`);
      process.exit(1);
    }
    stopping = true;
    say('info', `${signal}, draining (up to ${drainTimeoutMs} ms)`);
    setTimeout(() => {
      say('error', 'drain did not finish in time, exiting');
      process.exit(1);
    }, drainTimeoutMs + FORCE_EXIT_GRACE_MS).unref();
    // A failed close is reported through worker.closed, which exits.
    worker.close().catch(() => undefined);
  };
  if (metricsPort !== undefined) {
    const host = metricsHost ?? DEFAULT_METRICS_HOST;
    try {
      metricsServer = await serveMetrics(worker.metrics().handler, metricsPort, host);
    } catch (error) {
      process.stderr.write(
        `ringcast-worker: cannot serve metrics on ${host}:${metricsPort}: ${errorMessage(error)}\n`,
      );
      process.exit(1);
    }
    say('info', `metrics at http://${host}:${metricsServer.port}/metrics`);
  }
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  if (authKeysFile !== undefined) {
    // A key rotation without a restart: the worker logs the keys it took (ids only).
    process.on('SIGHUP', () => {
      try {
        worker.setAuth(readAuthKeysFile(authKeysFile));
      } catch (error) {
        say('error', `SIGHUP: kept the frame keys it had: ${errorMessage(error)}`);
      }
    });
  }
  try {
    await worker.start();
  } catch (error) {
    // A signal or an operator's drain closed the worker while it started: worker.closed exits.
    if (isRingcastError(error) && error.code === ErrorCode.CLOSED) return;
    // A second copy of a worker is a configuration mistake, not a crash.
    if (isRingcastError(error) && error.code === ErrorCode.DUPLICATE_WORKER) {
      process.stderr.write(`ringcast-worker: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

main().catch(fatal);
