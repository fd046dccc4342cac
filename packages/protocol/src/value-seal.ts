/**
 * Stored values sealed with the frame keyring: how a durable task's payload,
 * result and error are kept confidential in Redis with `auth.encrypt` on.
 *
 * ```
 * ~e<keyId> <base64(salt ‖ iv ‖ ciphertext ‖ tag)>
 * ```
 *
 * The cipher is the frames' (AES-256-GCM under a sender key derived from the
 * key's encryption key, see frame-seal.ts); the additional data is
 * `ringcast value v1`, the key id and the value's `binding` (for a record
 * field, its task id and field name), length-prefixed: a sealed value moved to
 * another task or another field, or relabelled with another key id, does not
 * decrypt. `~` starts no JSON text, so one character tells a sealed value from
 * one stored in the clear (records written before encryption was on).
 */
import { isValidKeyId, MAX_KEY_ID_LENGTH } from './auth-options.js';
import type { FrameSealer } from './frame-seal.js';

/** The first two characters of every sealed value. */
export const SEALED_VALUE_PREFIX = '~e';

/** Why a sealed value could not be opened. */
export type ValueOpenFailure =
  /** It starts like a sealed value, but its key id or text cannot be read. */
  | 'malformed'
  /** Sealed with a key this keyring does not hold (retired too early), or read without keys. */
  | 'unknown_key'
  /** Tampered with, moved from another task or field, or sealed with another secret under the same id. */
  | 'decrypt';

/** A value that could not be opened: why, and the key id it names (when it names one). */
export interface UnopenedValue {
  readonly failure: ValueOpenFailure;
  readonly keyId: string | undefined;
}

/** Whether `stored` is a sealed value (rather than a value in the clear). */
export function isSealedValue(stored: string): boolean {
  return stored.startsWith(SEALED_VALUE_PREFIX);
}

/** The key id a sealed value names, or undefined if it names none readable. */
export function sealedValueKeyId(stored: string): string | undefined {
  const space = stored.indexOf(' ', SEALED_VALUE_PREFIX.length);
  if (space < 0 || space > SEALED_VALUE_PREFIX.length + MAX_KEY_ID_LENGTH) return undefined;
  const keyId = stored.slice(SEALED_VALUE_PREFIX.length, space);
  return isValidKeyId(keyId) ? keyId : undefined;
}

/** `plain` sealed under `sealer`'s current key, bound to `binding`. */
export function sealValue(sealer: FrameSealer, binding: string, plain: string): string {
  const keyId = sealer.keyring.current.id;
  const text = sealer.encryptValue(valueAad(keyId, binding), plain);
  return `${SEALED_VALUE_PREFIX}${keyId} ${text}`;
}

/**
 * The plain text of `stored` as {@link sealValue} sealed it with `binding`;
 * `stored` itself when it is not sealed; why not when it cannot be opened
 * (`sealer` undefined: no keys to open it with). Never throws.
 */
export function openValue(
  sealer: FrameSealer | undefined,
  binding: string,
  stored: string,
): string | UnopenedValue {
  if (!isSealedValue(stored)) return stored;
  const keyId = sealedValueKeyId(stored);
  if (keyId === undefined) return { failure: 'malformed', keyId };
  if (sealer === undefined) return { failure: 'unknown_key', keyId };
  const text = stored.slice(SEALED_VALUE_PREFIX.length + keyId.length + 1);
  const plain = sealer.decryptValue(keyId, valueAad(keyId, binding), text);
  return plain === 'unknown_key' || plain === 'decrypt' ? { failure: plain, keyId } : plain;
}

/** What went wrong with a value that could not be opened, for an operator. */
export function describeUnopened(value: UnopenedValue): string {
  switch (value.failure) {
    case 'malformed':
      return 'it is marked encrypted but cannot be read';
    case 'unknown_key':
      return `it is encrypted with key ${value.keyId}, which is not in this keyring (keep a retired key until every record sealed with it has expired)`;
    case 'decrypt':
      return `it does not decrypt with key ${value.keyId}: tampered with, moved from another task or field, or sealed with another secret under that id`;
  }
}

function valueAad(keyId: string, binding: string): string {
  // Frames' additional data starts with a decimal length: this tag starts none.
  return `ringcast value v1\n${keyId}\n${binding.length}:${binding}`;
}
