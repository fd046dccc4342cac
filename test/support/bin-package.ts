import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';

/** The files `npm pack` would ship from the package in `dir`. */
export async function packedFiles(dir: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json'], {
    cwd: dir,
  });
  const [pack] = JSON.parse(stdout) as [{ files: Array<{ path: string }> }];
  return pack.files.map((f) => f.path);
}

/**
 * Runs a package's committed bin launcher (`bin/<name>.js`) copied alone into
 * a temporary directory, as it is before a build: no `dist/` beside it.
 */
export function runUnbuilt(bin: string): Promise<{ code: number | null; stderr: string }> {
  const unbuilt = mkdtempSync(join(tmpdir(), 'ringcast-unbuilt-'));
  mkdirSync(join(unbuilt, 'bin'));
  const copy = join(unbuilt, 'bin', basename(bin));
  copyFileSync(bin, copy);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [copy, '--help'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}
