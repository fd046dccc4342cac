import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuthOptions } from '@ringcast/protocol';

/** Secrets for the tests' keyrings: each carries a marker a test can look for in output. */
export const SECRETS = {
  k1: 'SECRET-K1-of-the-integration-tests-0001',
  k2: 'SECRET-K2-of-the-integration-tests-0002',
} as const;

/** A keyring of the test secrets `ids`, signing with `current` (the last id by default). */
export function keyring(
  ids: ReadonlyArray<keyof typeof SECRETS>,
  current = ids.at(-1)!,
): AuthOptions {
  return { keys: Object.fromEntries(ids.map((id) => [id, SECRETS[id]])), current };
}

/** Whether `text` holds any test secret (or a good part of one). */
export function leaksSecret(text: string): boolean {
  return text.includes('SECRET-K1') || text.includes('SECRET-K2');
}

/** A `--auth-keys-file` in a directory of its own; `write` replaces what it holds. */
export class KeysFile {
  readonly #dir = mkdtempSync(join(tmpdir(), 'ringcast-keys-'));
  readonly path = join(this.#dir, 'keys.json');

  constructor(auth: AuthOptions) {
    this.write(auth);
  }

  write(auth: AuthOptions | string): void {
    writeFileSync(this.path, typeof auth === 'string' ? auth : JSON.stringify(auth), {
      mode: 0o600,
    });
  }

  remove(): void {
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
