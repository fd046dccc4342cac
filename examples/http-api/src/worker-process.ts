// One `ringcast-worker` process, started the way a deployment starts it: the CLI that the
// @ringcast/worker package ships, given this application's handlers module.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The compiled handlers module the workers load. */
export const HANDLERS_MODULE = fileURLToPath(new URL('./handlers.js', import.meta.url));

/** `info` for what happens as it should, `warn` for what someone may want to look at. */
export type LogLevel = 'info' | 'warn';

export interface WorkerProcessOptions {
  redisUrl: string;
  namespace: string;
  id: string;
  weight: number;
  concurrency: number;
  /** Serve Prometheus metrics on this port (0: any free one); none when absent. */
  metricsPort?: number;
  /** Each line the worker writes: `info` from stdout, `warn` from stderr. */
  onLine(line: string, level: LogLevel): void;
}

export interface WorkerProcess {
  readonly id: string;
  readonly pid: number;
  readonly weight: number;
  readonly concurrency: number;
  /** `http://127.0.0.1:<port>/metrics` once the worker said where it serves them. */
  readonly metricsUrl: string | undefined;
  readonly running: boolean;
  /** Settles when the process has exited and its output was read to the end. */
  readonly exited: Promise<void>;
  /** Its last lines of output, for error messages. */
  tail(): string;
  /** Sends `signal` unless it has exited, and waits for the exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Fast failure detection: a worker that dies is taken for dead within 1.5 s. */
const HEARTBEAT_INTERVAL_MS = 250;
const HEARTBEAT_TTL_MS = 1_500;
/** How long SIGTERM lets running handlers finish: the example's handlers take well under it. */
const DRAIN_TIMEOUT_MS = 2_000;
const TAIL_LINES = 30;
const METRICS_LINE = /metrics at (http:\/\/\S+\/metrics)/;

// A worker must not outlive the process that started it, even one that exits by surprise.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * The `ringcast-worker` bin of the @ringcast/worker package that this application
 * resolves, read from that package's `bin` field as npm reads it to link the command.
 */
export function workerBin(): string {
  let dir = dirname(createRequire(import.meta.url).resolve('@ringcast/worker'));
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        bin?: Record<string, string>;
      };
      const bin = manifest.bin?.['ringcast-worker'];
      if (manifest.name === '@ringcast/worker' && bin) return join(dir, bin);
    } catch {
      // no package.json here; keep climbing
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('the ringcast-worker bin of @ringcast/worker was not found');
    dir = parent;
  }
}

export function spawnWorkerProcess(options: WorkerProcessOptions): WorkerProcess {
  const args = [
    workerBin(),
    '--handlers',
    HANDLERS_MODULE,
    '--redis',
    options.redisUrl,
    '--namespace',
    options.namespace,
    '--id',
    options.id,
    '--weight',
    String(options.weight),
    '--concurrency',
    String(options.concurrency),
    '--heartbeat-interval',
    String(HEARTBEAT_INTERVAL_MS),
    '--heartbeat-ttl',
    String(HEARTBEAT_TTL_MS),
    '--drain-timeout',
    String(DRAIN_TIMEOUT_MS),
  ];
  if (options.metricsPort !== undefined) args.push('--metrics-port', String(options.metricsPort));
  // A session of its own: a Ctrl-C in the terminal reaches only the launcher, which stops
  // the workers after the API and before Redis, rather than all at once.
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  live.add(child);
  const lines: string[] = [];
  let metricsUrl: string | undefined;
  const onLine = (line: string, level: LogLevel) => {
    lines.push(line);
    if (lines.length > TAIL_LINES) lines.shift();
    metricsUrl ??= METRICS_LINE.exec(line)?.[1];
    options.onLine(line, level);
  };
  for (const [stream, level] of [
    [child.stdout, 'info'],
    [child.stderr, 'warn'],
  ] as const) {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      partial += chunk;
      for (let nl = partial.indexOf('\n'); nl !== -1; nl = partial.indexOf('\n')) {
        onLine(partial.slice(0, nl), level);
        partial = partial.slice(nl + 1);
      }
    });
    stream.once('end', () => {
      if (partial) onLine(partial, level);
    });
  }
  const exited = new Promise<void>((resolve) => {
    const done = () => {
      live.delete(child);
      resolve();
    };
    child.once('close', done);
    child.once('error', (error) => {
      onLine(`could not start: ${error.message}`, 'warn');
      done();
    });
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    id: options.id,
    pid: child.pid ?? -1,
    weight: options.weight,
    concurrency: options.concurrency,
    get metricsUrl() {
      return metricsUrl;
    },
    get running() {
      return running();
    },
    exited,
    tail: () => lines.join('\n'),
    async kill(signal) {
      if (running()) child.kill(signal);
      await exited;
    },
  };
}
