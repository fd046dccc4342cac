#!/usr/bin/env node
import { ErrorCode, errorMessage, isRingcastError } from '@ringcast/protocol';
import { loadHandlers, parseCliArgs, USAGE, UsageError } from './cli-args.js';
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
  const { handlers: path, metricsPort, metricsHost, ...options } = command.config;
  let worker: Worker;
  try {
    const handlers = await loadHandlers(path);
    worker = createWorker({ ...options, handlers, metrics: metricsPort !== undefined });
  } catch (error) {
    if (error instanceof UsageError) usageError(error.message);
    if (isRingcastError(error) && error.code === ErrorCode.INVALID_OPTIONS)
      usageError(error.message);
    throw error;
  }

  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      console.error(`ringcast-worker: ${signal} again, exiting without draining`);
      process.exit(1);
    }
    stopping = true;
    console.error(`ringcast-worker: ${signal}, draining (up to ${drainTimeoutMs} ms)`);
    setTimeout(() => {
      console.error('ringcast-worker: drain did not finish in time, exiting');
      process.exit(1);
    }, drainTimeoutMs + FORCE_EXIT_GRACE_MS).unref();
    Promise.all([worker.close(), metricsServer?.close()]).then(() => process.exit(0), fatal);
  };
  let metricsServer: MetricsServer | undefined;
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
    console.error(`ringcast-worker: metrics at http://${host}:${metricsServer.port}/metrics`);
  }
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await worker.start();
  } catch (error) {
    // A signal during start closed the worker: close() decides the exit.
    if (stopping && isRingcastError(error) && error.code === ErrorCode.CLOSED) return;
    // A second copy of a worker is a configuration mistake, not a crash.
    if (isRingcastError(error) && error.code === ErrorCode.DUPLICATE_WORKER) {
      process.stderr.write(`ringcast-worker: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

main().catch(fatal);
