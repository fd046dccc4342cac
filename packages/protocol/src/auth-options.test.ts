import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_SKEW_MS,
  isValidKeyId,
  MAX_AUTH_KEYS,
  parseAuthOptions,
} from './auth-options.js';
import { ErrorCode, RingcastError } from './errors.js';

const SECRET = 'S3cr3t-of-at-least-32-characters-00';
const OTHER = 'another-secret-of-32-characters-xyz';

/** The error `parseAuthOptions` throws for `auth`. */
function failure(auth: unknown): RingcastError {
  try {
    parseAuthOptions(auth);
  } catch (error) {
    expect(error).toBeInstanceOf(RingcastError);
    return error as RingcastError;
  }
  throw new Error('expected parseAuthOptions to throw');
}

describe('parseAuthOptions', () => {
  it('derives every key and fills in the defaults', () => {
    const ring = parseAuthOptions({ keys: { k1: SECRET, k2: OTHER }, current: 'k2' });
    expect(ring.current.id).toBe('k2');
    expect([...ring.keys.keys()]).toEqual(['k1', 'k2']);
    expect(ring.maxSkewMs).toBe(DEFAULT_MAX_SKEW_MS);
    expect(ring.encrypt).toBe(false);
    const k1 = ring.keys.get('k1')!;
    // Separate keys for the MAC and the cipher, and per secret.
    expect(k1.mac.export().equals(k1.cipher.export())).toBe(false);
    expect(k1.mac.export().equals(ring.current.mac.export())).toBe(false);
    expect(k1.mac.symmetricKeySize).toBe(32);
  });

  it('derives the same keys from the same secret on every node', () => {
    const a = parseAuthOptions({ keys: { k1: SECRET }, current: 'k1' });
    const b = parseAuthOptions({ keys: { k1: SECRET }, current: 'k1', encrypt: true });
    expect(a.current.mac.export().equals(b.current.mac.export())).toBe(true);
    expect(a.current.cipher.export().equals(b.current.cipher.export())).toBe(true);
  });

  it('takes maxSkewMs and encrypt', () => {
    const ring = parseAuthOptions({
      keys: { k1: SECRET },
      current: 'k1',
      maxSkewMs: 5_000,
      encrypt: true,
    });
    expect(ring.maxSkewMs).toBe(5_000);
    expect(ring.encrypt).toBe(true);
  });

  it.each([
    ['not an object', 'k1'],
    ['null', null],
    ['an array', []],
    ['no keys', { current: 'k1' }],
    ['keys not an object', { keys: 'k1', current: 'k1' }],
    ['no key', { keys: {}, current: 'k1' }],
    [
      'too many keys',
      {
        keys: Object.fromEntries(
          Array.from({ length: MAX_AUTH_KEYS + 1 }, (_, i) => [`k${i}`, SECRET]),
        ),
        current: 'k1',
      },
    ],
    ['a bad key id', { keys: { 'k 1': SECRET }, current: 'k1' }],
    ['a key id too long', { keys: { ['k'.repeat(17)]: SECRET }, current: 'k1' }],
    ['an empty key id', { keys: { '': SECRET }, current: 'k1' }],
    ['an empty secret', { keys: { k1: '' }, current: 'k1' }],
    ['a short secret', { keys: { k1: SECRET.slice(0, 31) }, current: 'k1' }],
    ['a secret with a space', { keys: { k1: `${SECRET} x` }, current: 'k1' }],
    ['a non-ASCII secret', { keys: { k1: `${SECRET}é` }, current: 'k1' }],
    ['a secret that is no string', { keys: { k1: 12 }, current: 'k1' }],
    ['an unknown current', { keys: { k1: SECRET }, current: 'k2' }],
    ['no current', { keys: { k1: SECRET } }],
    ['a current that is no key id', { keys: { k1: SECRET }, current: 'k 1' }],
    ['a skew too small', { keys: { k1: SECRET }, current: 'k1', maxSkewMs: 999 }],
    ['a skew too large', { keys: { k1: SECRET }, current: 'k1', maxSkewMs: 300_001 }],
    ['a fractional skew', { keys: { k1: SECRET }, current: 'k1', maxSkewMs: 1_000.5 }],
    ['encrypt not a boolean', { keys: { k1: SECRET }, current: 'k1', encrypt: 'yes' }],
    ['an unknown field', { keys: { k1: SECRET }, current: 'k1', secret: SECRET }],
  ])('refuses %s with INVALID_OPTIONS', (_, auth) => {
    expect(failure(auth).code).toBe(ErrorCode.INVALID_OPTIONS);
  });

  it('never prints a secret, even one put where a key id or a field name goes', () => {
    const misplaced = [
      { keys: { k1: SECRET }, current: SECRET },
      { keys: { [SECRET]: 'k1' }, current: 'k1' },
      { keys: { k1: 'short' }, current: 'k1' },
      { keys: { k1: `${SECRET} with a space` }, current: 'k1' },
      { keys: SECRET, current: 'k1' },
      { keys: { k1: SECRET }, current: 'k1', [SECRET]: true },
      { keys: { k1: SECRET }, current: 'k1', encrypt: SECRET },
      JSON.stringify({ keys: { k1: SECRET }, current: 'k1' }),
    ];
    for (const auth of misplaced) {
      const { message } = failure(auth);
      expect(message).not.toContain(SECRET.slice(0, 8));
      expect(message).not.toContain('short');
    }
  });

  it('hands the message to the caller’s own failure', () => {
    expect(() =>
      parseAuthOptions({ keys: {}, current: 'k1' }, (message) => {
        throw new Error(`worker: ${message}`);
      }),
    ).toThrow(/^worker: auth\.keys must hold/);
  });
});

describe('isValidKeyId', () => {
  it.each([
    ['k1', true],
    ['2026-11_a', true],
    ['k'.repeat(16), true],
    ['k'.repeat(17), false],
    ['', false],
    ['k.1', false],
    ['ké', false],
    [1, false],
  ])('%s → %s', (id, valid) => {
    expect(isValidKeyId(id)).toBe(valid);
  });
});
