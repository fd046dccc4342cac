import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AUTH_KEYS_ENV, authKeysOption, parseAuthKeys, readAuthKeysFile } from './auth-keys.js';
import { UsageError } from './cli.js';

const SECRET = 'a-secret-of-at-least-32-characters-here';
const KEYS = { keys: { k1: SECRET }, current: 'k1' };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ringcast-auth-keys-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(content: string): string {
  const path = join(dir, 'keys.json');
  writeFileSync(path, content);
  return path;
}

/** The UsageError `run` throws; asserts no secret is in it. */
function usageError(run: () => unknown): UsageError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).not.toContain(SECRET.slice(0, 10));
    return error as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('authKeysOption', () => {
  it('reads --auth-keys-file, over RINGCAST_AUTH_KEYS', () => {
    const path = file(JSON.stringify(KEYS));
    const other = JSON.stringify({ keys: { k9: SECRET }, current: 'k9' });
    expect(authKeysOption({ 'auth-keys-file': path }, { [AUTH_KEYS_ENV]: other })).toEqual({
      auth: KEYS,
      file: path,
    });
  });

  it('reads RINGCAST_AUTH_KEYS without a file; neither means auth off', () => {
    expect(authKeysOption({}, { [AUTH_KEYS_ENV]: JSON.stringify(KEYS) })).toEqual({
      auth: KEYS,
      file: undefined,
    });
    expect(authKeysOption({}, {})).toBeUndefined();
    expect(authKeysOption({}, { [AUTH_KEYS_ENV]: '' })).toBeUndefined();
  });

  it('names the source of bad keys, never their content', () => {
    const broken = `{"keys":{"k1":"${SECRET}"},`;
    expect(usageError(() => authKeysOption({}, { [AUTH_KEYS_ENV]: broken })).message).toBe(
      `${AUTH_KEYS_ENV} is not valid JSON (expected { "keys": { … }, "current": … })`,
    );
    const path = file(broken);
    expect(usageError(() => readAuthKeysFile(path)).message).toMatch(
      /^--auth-keys-file .*keys\.json is not valid JSON/,
    );
    const wrong = JSON.stringify({ keys: { k1: SECRET }, current: SECRET });
    expect(usageError(() => parseAuthKeys(wrong, 'source')).message).toMatch(
      /^source: auth\.current must be a key id/,
    );
  });

  it('says when the file cannot be read or is too large to be keys', () => {
    expect(usageError(() => readAuthKeysFile(join(dir, 'missing.json'))).message).toMatch(
      /cannot be read: .*ENOENT/,
    );
    const big = file(' '.repeat(65 * 1024));
    expect(usageError(() => readAuthKeysFile(big)).message).toMatch(/larger than 65536 bytes/);
  });
});
