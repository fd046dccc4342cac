import { type ChildProcess, spawn } from 'node:child_process';

export interface NodeProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A node child process of a test, with its output kept and signals at hand. */
export interface NodeProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Settles once the process exited and its output was read to the end. */
  readonly exited: Promise<NodeProcessExit>;
  /** Everything the process wrote so far, stdout and stderr. */
  output(): string;
  /** What the process wrote to stdout alone so far. */
  stdout(): string;
  /** Sends `signal` (SIGCONT first, so a paused process acts on it) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  pause(): void;
  resume(): void;
}

// Children must never outlive the test process, even when a test forgets them.
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Starts `node <args>`; `onLine` sees its stdout a line at a time. */
export function spawnNode(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; onLine?: (line: string) => void } = {},
): NodeProcess {
  const child = spawn(process.execPath, [...args], {
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  let stdout = '';
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    out += text;
    stdout += text;
    if (!options.onLine) return;
    partial += text;
    for (let nl = partial.indexOf('\n'); nl !== -1; nl = partial.indexOf('\n')) {
      options.onLine(partial.slice(0, nl));
      partial = partial.slice(nl + 1);
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const exited = new Promise<NodeProcessExit>((resolve) => {
    // 'close', not 'exit': whatever the process printed last is read before this settles.
    child.once('close', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  return {
    child,
    pid: child.pid ?? -1,
    exited,
    output: () => out,
    stdout: () => stdout,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGCONT');
      child.kill(signal);
      await exited;
    },
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
  };
}
