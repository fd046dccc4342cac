/**
 * The `auth` option of both sides: a keyring of shared secrets by key id, and
 * the id of the key new frames are signed with. Validated once into a
 * {@link Keyring}, whose keys are derived up front (HKDF-SHA256, one MAC key
 * and one encryption key per secret) so that no frame pays for it.
 *
 * A secret never appears in an error, a log line or `stats()`: messages name
 * key ids only, which are labels, not secrets.
 */
import { createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { ErrorCode, RingcastError } from './errors.js';
import { describeValue, type OptionFailure } from './options.js';

/** Frame authentication settings, the same on every dispatcher, worker and operator tool of a deployment. */
export interface AuthOptions {
  /**
   * The keyring: secrets by key id. A key id is 1 to 16 of `A-Z a-z 0-9 _ -`;
   * a secret is at least 32 printable ASCII characters without spaces (for
   * example `openssl rand -base64 32`). At most {@link MAX_AUTH_KEYS} keys.
   * Frames signed with any key of the ring are accepted.
   */
  keys: Record<string, string>;
  /** The id of the key this process signs its frames with; one of `keys`. */
  current: string;
  /**
   * How far a frame's timestamp may be from the receiver's clock, either way,
   * in ms (1000 to 300000); older or newer frames are dropped as `stale`.
   * @defaultValue 30000
   */
  maxSkewMs?: number;
  /**
   * Encrypts the body of every frame this process sends (AES-256-GCM), besides
   * signing it. Receivers decrypt whatever they get encrypted, whatever their own setting.
   * @defaultValue false
   */
  encrypt?: boolean;
}

export const DEFAULT_MAX_SKEW_MS = 30_000;
export const MIN_MAX_SKEW_MS = 1_000;
/**
 * The widest window: a worker remembers finished attempts for 5 minutes, so a
 * task frame replayed within the window is answered from that record, not run.
 */
export const MAX_MAX_SKEW_MS = 300_000;
/** Shortest secret: 32 characters, as `openssl rand -hex 16` gives, carry at least 128 bits when random. */
export const MIN_SECRET_LENGTH = 32;
const MAX_SECRET_LENGTH = 1_024;
/** Most keys a keyring holds: a rotation needs two or three. */
export const MAX_AUTH_KEYS = 16;
/** Shorter than any secret, so a key id in a message can never be a secret put in the wrong place. */
export const MAX_KEY_ID_LENGTH = 16;
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,16}$/;
/** Printable ASCII without the space: survives JSON, environment variables and files unchanged. */
const SECRET_PATTERN = /^[\x21-\x7e]+$/;

/** Distinct HKDF contexts: the MAC key and the encryption key of one secret are unrelated. */
const MAC_INFO = 'ringcast frame mac v1';
const CIPHER_INFO = 'ringcast frame cipher v1';

/** One key of a {@link Keyring}: its id and the keys derived from its secret. */
export interface FrameKey {
  readonly id: string;
  /** HMAC-SHA256 key. */
  readonly mac: KeyObject;
  /** AES-256-GCM key. */
  readonly cipher: KeyObject;
}

/** Validated {@link AuthOptions} with every key derived; immutable. */
export interface Keyring {
  /** The key frames are signed with. */
  readonly current: FrameKey;
  /** Every key frames are accepted with, by id. */
  readonly keys: ReadonlyMap<string, FrameKey>;
  readonly maxSkewMs: number;
  readonly encrypt: boolean;
}

/** Whether `id` is a valid key id. */
export function isValidKeyId(id: unknown): id is string {
  return typeof id === 'string' && KEY_ID_PATTERN.test(id);
}

/**
 * Validates `auth` and derives its keys. What is wrong (never quoting a
 * secret) goes to `fail`, by default a `RingcastError` with `INVALID_OPTIONS`.
 */
export function parseAuthOptions(auth: unknown, fail: OptionFailure = invalidAuth): Keyring {
  if (typeof auth !== 'object' || auth === null || Array.isArray(auth)) {
    fail(`auth must be an object { keys, current }, got ${shown(auth)}`);
  }
  const o = auth as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!['keys', 'current', 'maxSkewMs', 'encrypt'].includes(key)) {
      fail(`auth has an unknown field ${shown(key)} (fields: keys, current, maxSkewMs, encrypt)`);
    }
  }
  const keys = o['keys'];
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) {
    fail(`auth.keys must be an object of secrets by key id, got ${shown(keys)}`);
  }
  const entries = Object.entries(keys as Record<string, unknown>);
  if (entries.length === 0 || entries.length > MAX_AUTH_KEYS) {
    fail(`auth.keys must hold 1 to ${MAX_AUTH_KEYS} keys, got ${entries.length}`);
  }
  const ring = new Map<string, FrameKey>();
  for (const [id, secret] of entries) {
    if (!isValidKeyId(id)) {
      fail(
        `auth.keys: a key id must be 1 to ${MAX_KEY_ID_LENGTH} of A-Z a-z 0-9 _ - (got ${shown(id)})`,
      );
    }
    if (
      typeof secret !== 'string' ||
      secret.length < MIN_SECRET_LENGTH ||
      secret.length > MAX_SECRET_LENGTH ||
      !SECRET_PATTERN.test(secret)
    ) {
      // The secret itself is never quoted, not even a part of it.
      fail(
        `auth: the secret of key ${id} must be ${MIN_SECRET_LENGTH} to ${MAX_SECRET_LENGTH} printable ` +
          'ASCII characters without spaces (generate one with: openssl rand -base64 32)',
      );
    }
    ring.set(id, deriveKey(id, secret as string));
  }
  const current = o['current'];
  if (!isValidKeyId(current)) {
    fail(`auth.current must be a key id, got ${shown(current)}`);
  }
  const signing = ring.get(current as string);
  if (signing === undefined) {
    fail(`auth.current key ${current} is not in auth.keys (${[...ring.keys()].join(', ')})`);
  }
  const maxSkewMs = o['maxSkewMs'] ?? DEFAULT_MAX_SKEW_MS;
  if (
    typeof maxSkewMs !== 'number' ||
    !Number.isInteger(maxSkewMs) ||
    maxSkewMs < MIN_MAX_SKEW_MS ||
    maxSkewMs > MAX_MAX_SKEW_MS
  ) {
    fail(
      `auth.maxSkewMs must be an integer from ${MIN_MAX_SKEW_MS} to ${MAX_MAX_SKEW_MS}, got ${shown(maxSkewMs)}`,
    );
  }
  const encrypt = o['encrypt'] ?? false;
  if (typeof encrypt !== 'boolean') fail(`auth.encrypt must be a boolean, got ${shown(encrypt)}`);
  return {
    current: signing as FrameKey,
    keys: ring,
    maxSkewMs: maxSkewMs as number,
    encrypt: encrypt as boolean,
  };
}

/**
 * A value for a message: a string only if it could be a key id (shorter than
 * any secret), so that a secret put in the wrong field is never printed.
 */
function shown(value: unknown): string {
  if (typeof value === 'string') return isValidKeyId(value) ? `"${value}"` : 'a string (not shown)';
  return describeValue(value);
}

function invalidAuth(message: string): never {
  throw new RingcastError(ErrorCode.INVALID_OPTIONS, message);
}

function deriveKey(id: string, secret: string): FrameKey {
  const derive = (info: string): KeyObject =>
    createSecretKey(Buffer.from(hkdfSync('sha256', secret, '', info, 32)));
  return { id, mac: derive(MAC_INFO), cipher: derive(CIPHER_INFO) };
}
