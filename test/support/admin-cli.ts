import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ADMIN_CLI = fileURLToPath(
  new URL('../../packages/admin/dist/cli.js', import.meta.url),
);

export interface CliRun {
  /** Exit code; null when it was killed (it ran past `timeoutMs`). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `ringcast <args>` (the built CLI) to completion. A run that has not
 * ended after `timeoutMs` is killed and reads as code null: a CLI must never hang.
 */
export function runRingcast(
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [ADMIN_CLI, ...args],
      { env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 90_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `ringcast <args> --redis <url> --namespace <namespace>`. */
export function ringcastIn(url: string, namespace: string, ...args: string[]): Promise<CliRun> {
  return runRingcast([...args, '--redis', url, '--namespace', namespace]);
}
