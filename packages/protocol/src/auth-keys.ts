/**
 * Where the ringcast CLIs (`ringcast-worker`, `ringcast`) get their frame
 * authentication keys: `--auth-keys-file <path>`, a file holding the `auth`
 * option as JSON (`{ "keys": { "k1": "…" }, "current": "k1" }`), else the
 * environment variable `RINGCAST_AUTH_KEYS` holding the same JSON, else none
 * (auth off). A file can be read again (SIGHUP, for a key rotation); the
 * variable cannot. Errors name the source, never its content: neither a
 * secret nor a JSON parser's quote of the text around a syntax error.
 */
import { readFileSync } from 'node:fs';
import { type AuthOptions, parseAuthOptions } from './auth-options.js';
import { type Environment, type ParsedValues, stringOption, UsageError } from './cli.js';
import { errorMessage } from './redact.js';

/** The CLI flag naming the keys file. */
export const AUTH_KEYS_FLAG = 'auth-keys-file';
/** The environment variable holding the keys' JSON when no file is named. */
export const AUTH_KEYS_ENV = 'RINGCAST_AUTH_KEYS';
/** Larger than any keyring of 16 keys; a bigger file is not one. */
const MAX_KEYS_FILE_BYTES = 64 * 1024;

/** Frame authentication keys as a CLI got them. */
export interface AuthKeysSource {
  readonly auth: AuthOptions;
  /** The file they came from, if any: {@link readAuthKeysFile} reads it again. */
  readonly file: string | undefined;
}

/**
 * The keys a CLI was given (see the file comment), validated; undefined for
 * none. Throws {@link UsageError} for a file that cannot be read or keys that
 * are not valid. An empty variable counts as unset.
 */
export function authKeysOption(values: ParsedValues, env: Environment): AuthKeysSource | undefined {
  const file = stringOption(values, AUTH_KEYS_FLAG);
  if (file !== undefined) return { auth: readAuthKeysFile(file), file };
  const json = env[AUTH_KEYS_ENV];
  if (!json) return undefined;
  return { auth: parseAuthKeys(json, `${AUTH_KEYS_ENV}`), file: undefined };
}

/** Reads and validates a keys file; throws {@link UsageError}. */
export function readAuthKeysFile(path: string): AuthOptions {
  let text: string;
  try {
    const data = readFileSync(path);
    if (data.length > MAX_KEYS_FILE_BYTES) {
      throw new Error(`larger than ${MAX_KEYS_FILE_BYTES} bytes`);
    }
    text = data.toString('utf8');
  } catch (error) {
    throw new UsageError(`--${AUTH_KEYS_FLAG} ${path} cannot be read: ${errorMessage(error)}`);
  }
  return parseAuthKeys(text, `--${AUTH_KEYS_FLAG} ${path}`);
}

/** Parses and validates the keys' JSON from `source` (named in errors); throws {@link UsageError}. */
export function parseAuthKeys(json: string, source: string): AuthOptions {
  let auth: unknown;
  try {
    auth = JSON.parse(json);
  } catch {
    // The parser's message quotes the text near the mistake: a secret, likely.
    throw new UsageError(`${source} is not valid JSON (expected { "keys": { … }, "current": … })`);
  }
  parseAuthOptions(auth, (message) => {
    throw new UsageError(`${source}: ${message}`);
  });
  return auth as AuthOptions;
}
