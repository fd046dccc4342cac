import { describe, expect, it } from 'vitest';
import { parseAuthOptions } from './auth-options.js';
import { FrameSealer } from './frame-seal.js';
import { isSealedValue, openValue, sealedValueKeyId, sealValue } from './value-seal.js';

const K1 = 'value-seal-test-secret-number-one-00001';
const K2 = 'value-seal-test-secret-number-two-00002';

function sealer(keys: Record<string, string>, current: string): FrameSealer {
  return new FrameSealer(parseAuthOptions({ keys, current, encrypt: true }));
}

describe('sealed values', () => {
  const plain = '{"card":"4111-1111-1111-1111"}';

  it('round-trips, and the stored text holds neither the plain text nor any part of it', () => {
    const s = sealer({ k1: K1 }, 'k1');
    const stored = sealValue(s, 'payload:t1', plain);
    expect(stored.startsWith('~ek1 ')).toBe(true);
    expect(isSealedValue(stored)).toBe(true);
    expect(sealedValueKeyId(stored)).toBe('k1');
    expect(stored).not.toContain('4111');
    expect(openValue(s, 'payload:t1', stored)).toBe(plain);
    // Another sealer of the same keyring (another process) opens it too.
    expect(openValue(sealer({ k1: K1 }, 'k1'), 'payload:t1', stored)).toBe(plain);
  });

  it('never seals the same text to the same ciphertext twice', () => {
    const s = sealer({ k1: K1 }, 'k1');
    expect(sealValue(s, 'payload:t1', plain)).not.toBe(sealValue(s, 'payload:t1', plain));
  });

  it('is bound to its binding: moved to another task or field, it does not open', () => {
    const s = sealer({ k1: K1 }, 'k1');
    const stored = sealValue(s, 'payload:t1', plain);
    expect(openValue(s, 'payload:t2', stored)).toEqual({ failure: 'decrypt', keyId: 'k1' });
    expect(openValue(s, 'result:t1', stored)).toEqual({ failure: 'decrypt', keyId: 'k1' });
  });

  it('refuses a tampered ciphertext and a relabelled key id', () => {
    const s = sealer({ k1: K1, k2: K2 }, 'k1');
    const stored = sealValue(s, 'result:t1', plain);
    const at = stored.length - 10;
    const flipped = stored.slice(0, at) + (stored[at] === 'A' ? 'B' : 'A') + stored.slice(at + 1);
    expect(openValue(s, 'result:t1', flipped)).toEqual({ failure: 'decrypt', keyId: 'k1' });
    const relabelled = `~ek2${stored.slice(4)}`;
    expect(openValue(s, 'result:t1', relabelled)).toEqual({ failure: 'decrypt', keyId: 'k2' });
    expect(openValue(s, 'result:t1', '~ek1 AAAA')).toEqual({ failure: 'decrypt', keyId: 'k1' });
  });

  it('names the key it needs when the keyring lacks it, or when there are no keys', () => {
    const stored = sealValue(sealer({ k1: K1 }, 'k1'), 'error:t1', plain);
    expect(openValue(sealer({ k2: K2 }, 'k2'), 'error:t1', stored)).toEqual({
      failure: 'unknown_key',
      keyId: 'k1',
    });
    expect(openValue(undefined, 'error:t1', stored)).toEqual({
      failure: 'unknown_key',
      keyId: 'k1',
    });
  });

  it('stays readable after a rotation while its key is in the keyring', () => {
    const stored = sealValue(sealer({ k1: K1 }, 'k1'), 'payload:t1', plain);
    const rotated = sealer({ k1: K1, k2: K2 }, 'k2');
    expect(openValue(rotated, 'payload:t1', stored)).toBe(plain);
    expect(sealValue(rotated, 'payload:t1', plain).startsWith('~ek2 ')).toBe(true);
  });

  it('reads a value in the clear as it is, and one that only looks sealed as malformed', () => {
    const s = sealer({ k1: K1 }, 'k1');
    expect(openValue(s, 'payload:t1', plain)).toBe(plain);
    expect(openValue(undefined, 'payload:t1', plain)).toBe(plain);
    expect(openValue(s, 'payload:t1', '~e')).toEqual({ failure: 'malformed', keyId: undefined });
    expect(openValue(s, 'payload:t1', '~ebad!id x')).toEqual({
      failure: 'malformed',
      keyId: undefined,
    });
  });
});
