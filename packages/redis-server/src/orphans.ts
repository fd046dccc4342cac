/**
 * Servers left behind by an owner that died without running its exit hook
 * (SIGKILL, the OOM killer, a CI timeout). Each server's data dir holds an
 * owner file naming the process that started it and the server's own pid; the
 * first launch in a later process stops every server whose owner is gone and
 * removes its dir. A pid is only signalled while its working directory is that
 * very dir (redis-server changes into its `--dir`; it rewrites its command
 * line), so a pid the system has since reused is left alone.
 */
import {
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The prefix of every data dir, in the system's temp dir. */
export const DIR_PREFIX = 'ringcast-redis-';
const OWNER_FILE = 'owner.json';

interface Owner {
  /** The process that started the server. */
  owner: number;
  /** The server's own pid. */
  server: number;
}

/** Records who owns the server `server` that keeps its data in `dir`. Never throws: a server without it is only not reaped. */
export function recordOwner(dir: string, server: number): void {
  const owner: Owner = { owner: process.pid, server };
  try {
    writeFileSync(join(dir, OWNER_FILE), JSON.stringify(owner));
  } catch {
    // A full or read-only temp dir: the launch goes on.
  }
}

/** Stops the servers whose owner died and removes their dirs. Never throws. */
export function reapOrphanedServers(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir()).filter((name) => name.startsWith(DIR_PREFIX));
  } catch {
    return;
  }
  for (const name of names) reapDir(join(tmpdir(), name));
}

function reapDir(dir: string): void {
  let owner: Owner;
  try {
    owner = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as Owner;
  } catch {
    // Being set up now, or written by a launcher without owner files: not ours to judge.
    return;
  }
  if (!Number.isSafeInteger(owner.owner) || !Number.isSafeInteger(owner.server)) return;
  if (isAlive(owner.owner)) return;
  if (isAlive(owner.server)) {
    const cwd = workingDirectory(owner.server);
    // Without /proc there is no telling a reused pid from the server: leave both be.
    if (cwd === undefined) return;
    if (cwd === realpathSync(dir)) {
      try {
        process.kill(owner.server, 'SIGKILL');
      } catch {
        return;
      }
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, as another user's process.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The process's working directory; undefined where /proc cannot tell. */
function workingDirectory(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}
