import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type Keyring, parseAuthOptions } from './auth-options.js';
import {
  FrameSealer,
  MAX_HEADER_CHARS,
  maxSealedChars,
  type OpenedFrame,
  SEALED_FRAME_MARKER,
} from './frame-seal.js';

const S1 = 'first-secret-of-at-least-32-chars-0001';
const S2 = 'second-secret-of-at-least-32-chars-002';
const CHANNEL = 'ns:w:worker-1';
const OTHER_CHANNEL = 'ns:w:worker-2';
const NOW = 1_764_000_000_000;
const BODY = '{"v":2,"m":[[1,"t1",1,"echo",1764000030000,{"i":1,"d":"xxxx"}]]}';

function ring(
  options: { current?: string; encrypt?: boolean; keys?: Record<string, string> } = {},
) {
  return parseAuthOptions({
    keys: options.keys ?? { k1: S1, k2: S2 },
    current: options.current ?? 'k1',
    encrypt: options.encrypt ?? false,
    maxSkewMs: 30_000,
  });
}

function opened(result: OpenedFrame | string): OpenedFrame {
  if (typeof result === 'string') throw new Error(`expected the frame to open, got ${result}`);
  return result;
}

describe('FrameSealer: the signed wire format', () => {
  const sealer = new FrameSealer(ring());

  it('writes the header, then the body as it was', () => {
    const frame = sealer.seal(CHANNEL, BODY, NOW);
    const tag = createHash('sha256').update(CHANNEL).digest('base64url').slice(0, 4);
    expect(frame).toMatch(
      new RegExp(`^~s k1 ${tag.replace(/[-]/g, '\\-')} ${NOW} [A-Za-z0-9_-]{43} `),
    );
    expect(frame.endsWith(` ${BODY}`)).toBe(true);
    expect(frame.length - BODY.length).toBeLessThanOrEqual(MAX_HEADER_CHARS);
  });

  it('opens what it sealed, on the same channel, with the sender’s time', () => {
    const frame = sealer.seal(CHANNEL, BODY, NOW);
    const result = opened(new FrameSealer(ring()).open(CHANNEL, frame, NOW + 5));
    expect(result.body).toBe(BODY);
    expect(result.sentAt).toBe(NOW);
    expect(result.fingerprint).toBe(frame.split(' ')[4]);
  });

  it('carries any body: non-ASCII, empty, huge, one that looks like a header', () => {
    for (const body of [
      '{"d":"héllo ✓ 𝄞 — 日本語"}',
      '',
      'x'.repeat(200_000),
      '~s k1 abcd 1 mac body',
      'id-1 id-2 id-3',
      '\u0000\uffff',
    ]) {
      const frame = sealer.seal(CHANNEL, body, NOW);
      expect(opened(sealer.open(CHANNEL, frame, NOW)).body).toBe(body);
    }
  });

  it('binds channels of any characters, length-prefixed', () => {
    for (const channel of ['a', 'ns:é:1', '1:a', 'x'.repeat(300)]) {
      const frame = sealer.seal(channel, BODY, NOW);
      expect(opened(sealer.open(channel, frame, NOW)).body).toBe(BODY);
    }
  });

  it('follows the documented MAC construction exactly', () => {
    const frame = signByHand(ring(), 's', NOW, BODY);
    expect(frame).toBe(sealer.seal(CHANNEL, BODY, NOW));
    expect(opened(sealer.open(CHANNEL, frame, NOW)).body).toBe(BODY);
  });

  it('gives every frame its own fingerprint, even the same body at the same time on another channel', () => {
    const a = opened(sealer.open(CHANNEL, sealer.seal(CHANNEL, BODY, NOW), NOW)).fingerprint;
    const b = opened(sealer.open(CHANNEL, sealer.seal(CHANNEL, BODY, NOW + 1), NOW)).fingerprint;
    const c = opened(
      sealer.open(OTHER_CHANNEL, sealer.seal(OTHER_CHANNEL, BODY, NOW), NOW),
    ).fingerprint;
    expect(new Set([a, b, c]).size).toBe(3);
  });
});

describe('FrameSealer.open refuses what it must', () => {
  const sealer = new FrameSealer(ring());
  const frame = sealer.seal(CHANNEL, BODY, NOW);
  const open = (text: string, at = NOW) => sealer.open(CHANNEL, text, at);
  /** The frame with its `index`-th space-separated header field replaced. */
  const withField = (index: number, value: string) => {
    const parts = frame.split(' ');
    parts[index] = value;
    return parts.join(' ');
  };

  it('calls a frame without the marker unsigned', () => {
    for (const text of [BODY, '', 's k1', ' ~s', 'ringcast-probe:abc', 'task-1 task-2']) {
      expect(open(text)).toBe('unsigned');
    }
  });

  it('calls every truncation of the header malformed, and of the body a bad MAC', () => {
    const bodyAt = frame.length - BODY.length;
    for (let end = 1; end < bodyAt; end++) expect(open(frame.slice(0, end))).toBe('malformed');
    for (let end = bodyAt; end < frame.length; end += 7) {
      expect(open(frame.slice(0, end))).toBe('bad_mac');
    }
  });

  it.each([
    ['an unknown mode', () => `~x${frame.slice(2)}`],
    ['no space after the mode', () => `~s${frame.slice(3)}`],
    ['an empty key id', () => withField(1, '')],
    ['a key id too long', () => withField(1, 'k'.repeat(17))],
    ['a key id with a dot', () => withField(1, 'k.1')],
    ['a non-ASCII key id', () => withField(1, 'ké')],
    ['a short tag', () => withField(2, 'abc')],
    ['a long tag', () => withField(2, 'abcde')],
    ['a timestamp with a letter', () => withField(3, `${NOW}x`)],
    ['a negative timestamp', () => withField(3, `-${NOW}`)],
    ['a timestamp of 16 digits', () => withField(3, '1'.repeat(16))],
    ['an empty timestamp', () => withField(3, '')],
    ['a short MAC', () => withField(4, frame.split(' ')[4]!.slice(1))],
    ['a long MAC', () => withField(4, `${frame.split(' ')[4]}A`)],
    ['fields separated by two spaces', () => frame.replace(' k1 ', '  k1 ')],
    ['a header of a megabyte', () => `~s ${'k'.repeat(1_000_000)}`],
  ])('calls %s malformed', (_, make) => {
    expect(open(make())).toBe('malformed');
  });

  it('calls a key id the keyring lacks unknown', () => {
    expect(open(withField(1, 'k3'))).toBe('unknown_key');
    const stranger = new FrameSealer(ring({ keys: { k9: S1 }, current: 'k9' }));
    expect(open(stranger.seal(CHANNEL, BODY, NOW))).toBe('unknown_key');
  });

  it('calls a frame published on another channel than it was signed for wrong_channel', () => {
    expect(sealer.open(OTHER_CHANNEL, frame, NOW)).toBe('wrong_channel');
  });

  it('calls a forged tag (claiming this channel) a bad MAC: the MAC binds the channel', () => {
    const elsewhere = sealer.seal(OTHER_CHANNEL, BODY, NOW);
    const parts = elsewhere.split(' ');
    parts[2] = frame.split(' ')[2]!;
    expect(open(parts.join(' '))).toBe('bad_mac');
  });

  it.each([
    ['a flipped MAC character', () => withField(4, flip(frame.split(' ')[4]!, 10))],
    ['a flipped body character', () => frame.replace('"echo"', '"echp"')],
    ['a body with a byte appended', () => `${frame} `],
    ['a changed timestamp', () => withField(3, String(NOW + 1))],
    ['another key of the ring named', () => withField(1, 'k2')],
    ['the encrypted mode claimed', () => `~e${frame.slice(2)}`],
  ])('calls %s a bad MAC', (_, make) => {
    expect(open(make())).toBe('bad_mac');
  });

  it('calls a frame signed with another secret under the same key id a bad MAC', () => {
    const impostor = new FrameSealer(ring({ keys: { k1: S2 } }));
    expect(open(impostor.seal(CHANNEL, BODY, NOW))).toBe('bad_mac');
  });

  it('calls a frame from outside the window stale, either way, and takes one at its edges', () => {
    expect(open(frame, NOW + 30_001)).toBe('stale');
    expect(open(frame, NOW - 30_001)).toBe('stale');
    expect(typeof open(frame, NOW + 30_000)).toBe('object');
    expect(typeof open(frame, NOW - 30_000)).toBe('object');
  });

  it('takes an old parked frame, but not one from the future', () => {
    expect(typeof sealer.open(CHANNEL, frame, NOW + 3_600_000, true)).toBe('object');
    expect(sealer.open(CHANNEL, frame, NOW - 30_001, true)).toBe('stale');
  });

  it('checks the MAC before the time: a forgery with an old timestamp is a bad MAC', () => {
    expect(open(withField(3, String(NOW - 60_000)))).toBe('bad_mac');
  });
});

describe('FrameSealer: encrypted frames', () => {
  const secretPayload = '{"card":"4111-1111-1111-1111"}';
  const sender = new FrameSealer(ring({ encrypt: true }));
  const receiver = new FrameSealer(ring());

  it('hides the body, and any node of the ring opens it', () => {
    const frame = sender.seal(CHANNEL, secretPayload, NOW);
    expect(frame.startsWith(`${SEALED_FRAME_MARKER}e k1 `)).toBe(true);
    expect(frame).not.toContain('4111');
    expect(frame).not.toContain('card');
    expect(opened(receiver.open(CHANNEL, frame, NOW)).body).toBe(secretPayload);
    expect(opened(sender.open(CHANNEL, frame, NOW)).body).toBe(secretPayload);
  });

  it('carries non-ASCII and empty bodies', () => {
    for (const body of ['', 'héllo ✓ 𝄞 日本語', 'y'.repeat(100_000)]) {
      expect(opened(receiver.open(CHANNEL, sender.seal(CHANNEL, body, NOW), NOW)).body).toBe(body);
    }
  });

  it('never repeats an IV under a sender’s key, and senders have keys of their own', () => {
    const blobs = Array.from({ length: 200 }, (_, i) =>
      Buffer.from(sender.seal(CHANNEL, BODY, NOW + i).split(' ')[5]!, 'base64'),
    );
    const salts = new Set(blobs.map((b) => b.subarray(0, 16).toString('hex')));
    const ivs = new Set(blobs.map((b) => b.subarray(16, 28).toString('hex')));
    expect(salts.size).toBe(1);
    expect(ivs.size).toBe(200);
    const another = new FrameSealer(ring({ encrypt: true }));
    const theirs = Buffer.from(another.seal(CHANNEL, BODY, NOW).split(' ')[5]!, 'base64');
    expect(salts.has(theirs.subarray(0, 16).toString('hex'))).toBe(false);
  });

  it('refuses a tampered ciphertext by its MAC, before decrypting', () => {
    const frame = sender.seal(CHANNEL, secretPayload, NOW);
    const parts = frame.split(' ');
    parts[5] = flip(parts[5]!, 30);
    expect(receiver.open(CHANNEL, parts.join(' '), NOW)).toBe('bad_mac');
    expect(receiver.open(CHANNEL, `~s${frame.slice(2)}`, NOW)).toBe('bad_mac');
  });

  it('calls a frame whose MAC holds but whose ciphertext does not decrypt a decrypt failure', () => {
    // An insider with the MAC key but another cipher key: the MAC passes, GCM does not.
    const real = ring({ encrypt: true });
    const wrongCipher = ring({ encrypt: true, keys: { k1: S2 } }).current.cipher;
    const insider: Keyring = { ...real, current: { ...real.current, cipher: wrongCipher } };
    const frame = new FrameSealer(insider).seal(CHANNEL, secretPayload, NOW);
    expect(receiver.open(CHANNEL, frame, NOW)).toBe('decrypt');
  });

  it('calls an encrypted body too short to hold salt, IV and tag a decrypt failure', () => {
    const body = Buffer.from('abc').toString('base64');
    expect(receiver.open(CHANNEL, signByHand(ring(), 'e', NOW, body), NOW)).toBe('decrypt');
  });

  it('bounds the longest sealed frame of a node', () => {
    const body = 'z'.repeat(4_096);
    const frame = sender.seal(CHANNEL, body, NOW);
    expect(frame.length).toBeLessThanOrEqual(maxSealedChars(4_096));
    expect(new FrameSealer(ring()).seal(CHANNEL, body, NOW).length).toBeLessThanOrEqual(
      maxSealedChars(4_096),
    );
  });
});

/**
 * A frame made by hand from the documented format, as only a key holder could:
 * HMAC-SHA256 over the length-prefixed channel, the header and the body.
 */
function signByHand(keyring: Keyring, mode: 's' | 'e', ts: number, body: string): string {
  const tag = createHash('sha256').update(CHANNEL).digest('base64url').slice(0, 4);
  const head = `~${mode} ${keyring.current.id} ${tag} ${ts} `;
  const mac = createHmac('sha256', keyring.current.mac)
    .update(`${Buffer.byteLength(CHANNEL)}:${CHANNEL}`)
    .update(head)
    .update(body)
    .digest('base64url');
  return `${head}${mac} ${body}`;
}

/** `text` with the character at `i` changed to another base64url character. */
function flip(text: string, i: number): string {
  const c = text[i] === 'A' ? 'B' : 'A';
  return text.slice(0, i) + c + text.slice(i + 1);
}
