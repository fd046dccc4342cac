// Child processes, the private redis-server, cleanup on every exit path, and bounded waits.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RedisServer, startRedisServer } from '@ringcast/redis-server';

/** A failure the bench reports as one clear line, then exits non-zero. */
export class BenchError extends Error {
  override name = 'BenchError';
}

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly log: string;
  /** Rejects with the log tail if the process exits before `stop()` is called. */
  readonly died: Promise<never>;
  /** Settles when the process exits, whatever the reason. */
  readonly exited: Promise<void>;
  stop(): Promise<void>;
}

const children = new Set<Child>();
const cleanups: Array<() => Promise<void> | void> = [];
let logDir: string | undefined;
let keepLogs = false;

/** Where child output goes; kept on failure or when the user asked for it. */
export function useLogDir(dir: string | undefined): string {
  if (dir) {
    keepLogs = true;
    logDir = dir;
    mkdirSync(dir, { recursive: true });
  } else {
    logDir = mkdtempSync(join(tmpdir(), 'ringcast-bench-'));
  }
  return logDir;
}

export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}

/**
 * Spawns a child whose output goes to a log file; it is killed on any exit of the bench.
 * `env` is added to the bench's; `ipc` opens a message channel (`process.send`).
 */
export function spawnChild(
  name: string,
  command: string,
  args: string[],
  { env = {}, ipc = false }: { env?: Record<string, string>; ipc?: boolean } = {},
): Child {
  const dir = logDir ?? useLogDir(undefined);
  const log = join(dir, `${name}.log`);
  const fd = openSync(log, 'a');
  let proc: ChildProcess;
  try {
    proc = spawn(command, args, {
      stdio: ipc ? ['ignore', fd, fd, 'ipc'] : ['ignore', fd, fd],
      env: { ...process.env, ...env },
    });
  } finally {
    closeSync(fd);
  }
  let stopping = false;
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
    proc.once('error', () => resolve({ code: null, signal: null }));
  });
  // Never settles for a child we stopped on purpose; rejects for one that died on its own.
  const died = exited.then(({ code, signal }): Promise<never> => {
    if (stopping) return new Promise<never>(() => {});
    throw new BenchError(
      `${name} exited unexpectedly (code ${code}, signal ${signal}); last output:\n${tail(log)}`,
    );
  });
  died.catch(() => {});
  const child: Child = {
    name,
    process: proc,
    log,
    died,
    exited: exited.then(() => {}),
    async stop() {
      stopping = true;
      children.delete(child);
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
  children.add(child);
  return child;
}

/**
 * A private redis-server (never the system one), or the server at REDIS_URL.
 * `args` are extra redis-server arguments for the private one (persistence).
 */
export async function startRedis(
  args: string[] = [],
): Promise<{ url: string; server: RedisServer | undefined }> {
  // biome-ignore lint/suspicious/noUndeclaredEnvVars: the bench runs outside turbo's task graph.
  const fromEnv = process.env['REDIS_URL'];
  if (fromEnv) return { url: fromEnv, server: undefined };
  const server = await startRedisServer({ readyTimeoutMs: 10_000, args });
  onCleanup(() => server.stop());
  return { url: server.url, server };
}

export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

let cleaning: Promise<void> | undefined;

/** Stops every child and runs cleanups, bounded so that it cannot hang. */
export function cleanup(failed: boolean): Promise<void> {
  cleaning ??= (async () => {
    const all = [...children].map((c) => c.stop());
    await withTimeout(Promise.all(all), 8_000, 'stopping child processes').catch(() => {
      for (const c of children) c.process.kill('SIGKILL');
    });
    for (const fn of cleanups.reverse()) {
      await withTimeout(Promise.resolve(fn()), 5_000, 'cleanup').catch(() => {});
    }
    if (logDir && !keepLogs && !failed) rmSync(logDir, { recursive: true, force: true });
    else if (logDir) process.stderr.write(`bench: child logs kept in ${logDir}\n`);
  })();
  return cleaning;
}

process.once('exit', () => {
  for (const c of children) c.process.kill('SIGKILL');
});

/** Rejects with a clear message if `promise` has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BenchError(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `check` until it returns true, failing after `ms`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
  also: Array<Promise<never>> = [],
): Promise<void> {
  const poll = (async () => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new BenchError(`timed out after ${ms} ms waiting for ${what}`);
  })();
  await Promise.race([poll, ...also]);
}

/** CPU time (user + system) a process has used, in ms, from /proc; undefined where there is no /proc. */
export function cpuMsOf(pid: number): number | undefined {
  if (pid === process.pid) {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  }
  try {
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // USER_HZ is 100 on every mainstream Linux.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/**
 * Starts a CPU meter over groups of processes; calling the result gives each
 * group's CPU time since then, in µs per task. /proc ticks are 10 ms, so this is
 * meaningful over runs of a second or more.
 */
export function cpuMeter(
  groups: Record<string, number[]>,
): (tasks: number) => Record<string, number> {
  const read = () =>
    Object.fromEntries(
      Object.entries(groups).map(([name, pids]) => {
        let sum = 0;
        for (const pid of pids) {
          const ms = cpuMsOf(pid);
          if (ms === undefined) return [name, Number.NaN];
          sum += ms;
        }
        return [name, sum];
      }),
    ) as Record<string, number>;
  const start = read();
  return (tasks) => {
    const end = read();
    const out: Record<string, number> = {};
    for (const name of Object.keys(groups)) {
      const ms = end[name]! - start[name]!;
      if (Number.isFinite(ms)) out[name] = Math.round((ms * 1000 * 10) / tasks) / 10;
    }
    return out;
  };
}
