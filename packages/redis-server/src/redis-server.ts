import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findOnPath } from './find-on-path.js';
import { DIR_PREFIX, reapOrphanedServers, recordOwner } from './orphans.js';
import { ping } from './ping.js';
import { type RedisServerTls, tlsArgs } from './tls-options.js';

/** How a redis-server process ended. */
export interface RedisServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A private redis-server child process, owned by the process that started it. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>`, or `rediss://127.0.0.1:<port>` when started with `tls`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Pid of the current process; changes on `restart()`. */
  readonly pid: number;
  /** Settles when the current process exits; replaced on `restart()`. */
  readonly exited: Promise<RedisServerExit>;
  /** SIGTERM and wait for exit, then remove the data dir. Idempotent. */
  stop(): Promise<void>;
  /** Send `signal` (default SIGKILL) and wait for exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP: the socket stays open but nothing is answered. */
  pause(): void;
  /** SIGCONT */
  resume(): void;
  /**
   * Kill the current process if it still runs, then start a new one on the same port:
   * empty, or with the same data directory when started with `persist`.
   */
  restart(): Promise<void>;
}

export interface StartRedisServerOptions {
  /** Fixed port; by default a free one is picked (and re-picked if redis cannot bind it). */
  port?: number;
  /** Extra redis-server arguments, e.g. `['--maxmemory', '1mb']`. */
  args?: string[];
  /**
   * Keep one data directory across `restart()`, so a server run with AOF (`args`:
   * `--appendonly yes`) comes back with what it had acknowledged. Removed at `stop()`.
   * @defaultValue false
   */
  persist?: boolean;
  /**
   * How long to wait for the server to answer PING.
   * @defaultValue 10_000
   */
  readyTimeoutMs?: number;
  /**
   * Run it in a session of its own, so that a Ctrl-C in the terminal reaches only its parent,
   * which can then stop it after its clients instead of under them.
   * @defaultValue false
   */
  detached?: boolean;
  /**
   * Serve TLS only: `port` is then the TLS port, and nothing listens without
   * TLS. Certificates come from the caller (`makeCertificates()` makes some).
   */
  tls?: RedisServerTls;
}

const HOST = '127.0.0.1';
const BIND_ATTEMPTS = 4;

/** Absolute path of `redis-server` on the PATH, or undefined. */
export function redisServerBinary(): string | undefined {
  return findOnPath('redis-server');
}

// Children must never outlive the process that started them, even when it forgets stop().
// One killed before its exit hook ran leaves them running: the next process to launch reaps them.
let reaped = false;
const live = new Set<ChildProcess>();
const dirs = new Set<string>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A port nothing listens on now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}

interface Running {
  child: ChildProcess;
  dir: string;
  exited: Promise<RedisServerExit>;
}

class StartError extends Error {
  constructor(
    message: string,
    readonly bindFailure: boolean,
  ) {
    super(message);
    this.name = 'StartError';
  }
}

/** How every process of one server is started: the same binary, port and arguments each time. */
interface Launch {
  binary: string;
  port: number;
  args: readonly string[];
  readyTimeoutMs: number;
  detached: boolean;
  tls: RedisServerTls | undefined;
}

async function spawnOnce(launch: Launch, keptDir?: string): Promise<Running> {
  const { binary, port, args, readyTimeoutMs } = launch;
  if (!reaped) {
    reaped = true;
    reapOrphanedServers();
  }
  const dir = keptDir ?? mkdtempSync(join(tmpdir(), DIR_PREFIX));
  dirs.add(dir);
  const log = join(dir, 'redis.log');
  // Output goes to a file, not a pipe, so an unref'd child cannot keep its parent alive.
  const fd = openSync(log, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      binary,
      [
        ...(launch.tls ? tlsArgs(launch.tls, port) : ['--port', String(port)]),
        '--bind',
        HOST,
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--protected-mode',
        'no',
        ...args,
      ],
      { stdio: ['ignore', fd, fd], detached: launch.detached },
    );
  } finally {
    closeSync(fd);
  }
  child.unref();
  live.add(child);
  // A server whose owner dies without its exit hook is stopped by the next launcher.
  if (child.pid !== undefined) recordOwner(dir, child.pid);
  let hasExited = false;
  const exited = new Promise<RedisServerExit>((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      hasExited = true;
      live.delete(child);
      resolve({ code, signal });
    };
    child.once('exit', finish);
    child.once('error', () => finish(null, null));
  });

  const deadline = Date.now() + readyTimeoutMs;
  while (!hasExited && Date.now() < deadline) {
    if (await ping(HOST, port, 250, launch.tls)) return { child, dir, exited };
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!hasExited) {
    child.kill('SIGKILL');
    await exited;
  }
  const output = tail(log);
  if (keptDir === undefined) {
    rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
  }
  const why = hasExited ? 'exited before answering PING' : `no PONG within ${readyTimeoutMs} ms`;
  throw new StartError(
    `redis-server on port ${port} ${why}; last output:\n${output}`,
    /address already in use|could not create server (tcp|tls) listening socket/i.test(output),
  );
}

/** Start a private, empty, non-persistent redis-server on 127.0.0.1. */
export async function startRedisServer(opts: StartRedisServerOptions = {}): Promise<RedisServer> {
  const binary = redisServerBinary();
  if (!binary) throw new Error('redis-server is not on the PATH');
  const launch: Launch = {
    binary,
    port: opts.port ?? 0,
    args: opts.args ?? [],
    readyTimeoutMs: opts.readyTimeoutMs ?? 10_000,
    detached: opts.detached ?? false,
    tls: opts.tls,
  };
  let running: Running | undefined;
  for (let attempt = 1; !running; attempt++) {
    if (opts.port === undefined) launch.port = await freePort();
    try {
      running = await spawnOnce(launch);
    } catch (err) {
      // Another process may grab the port between freePort() and redis binding it.
      const retry = err instanceof StartError && err.bindFailure && opts.port === undefined;
      if (!retry || attempt >= BIND_ATTEMPTS) throw err;
    }
  }

  let current: Running = running;
  const { port } = launch;

  const terminate = async (signal: NodeJS.Signals, keepDir = false) => {
    const { child, exited } = current;
    if (child.exitCode === null && child.signalCode === null) {
      // Unref'd, it would not keep its parent alive until it exits: a parent with nothing
      // else left to do would exit first, and the exit hook SIGKILL it instead.
      child.ref();
      child.kill(signal);
      // A stopped process only acts on SIGTERM once continued.
      if (signal !== 'SIGKILL' && signal !== 'SIGSTOP') child.kill('SIGCONT');
    }
    await exited;
    if (keepDir) return;
    rmSync(current.dir, { recursive: true, force: true });
    dirs.delete(current.dir);
  };

  return {
    url: `${opts.tls ? 'rediss' : 'redis'}://${HOST}:${port}`,
    host: HOST,
    port,
    get pid() {
      return current.child.pid ?? -1;
    },
    get exited() {
      return current.exited;
    },
    async stop() {
      await terminate('SIGTERM');
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      await terminate(signal);
    },
    pause() {
      current.child.kill('SIGSTOP');
    },
    resume() {
      current.child.kill('SIGCONT');
    },
    async restart() {
      await terminate('SIGKILL', opts.persist);
      const keptDir = opts.persist ? current.dir : undefined;
      current = await spawnOnce(launch, keptDir);
    },
  };
}
