/**
 * The wire format of an authenticated frame, and the one place that writes and
 * reads it. A sealed frame is a short text header, then the body:
 *
 * ```
 * ~s <keyId> <channelTag> <ts> <mac> <body>        signed: the body as it was
 * ~e <keyId> <channelTag> <ts> <mac> <base64>      encrypted: base64(salt ‖ iv ‖ ciphertext ‖ tag)
 * ```
 *
 * - `~` starts no unsigned frame (JSON frames start with `{`, the worker's probe
 *   and the settled and cancel channels' ids with a letter or digit), so one
 *   character tells signed from unsigned without parsing anything.
 * - `keyId` names the keyring's key (1–16 of `A-Z a-z 0-9 _ -`).
 * - `channelTag` is 4 base64url characters of SHA-256(channel): public, it
 *   only lets a frame moved to another channel be counted as `wrong_channel`
 *   rather than `bad_mac` (the MAC binds the channel either way).
 * - `ts` is the sender's clock in epoch ms, decimal.
 * - `mac` is HMAC-SHA256 (the key's MAC key), base64url (43 characters), over
 *   `<channel's UTF-8 length>:<channel>`, the header before the MAC (its trailing
 *   space included) and the body as sent. The channel is length-prefixed and the
 *   header fields hold no space, so no two inputs read alike.
 *
 * Encrypted frames are encrypt-then-MAC: the MAC covers the base64 text, so a
 * tampered ciphertext is refused before any decryption. The cipher is
 * AES-256-GCM, its additional data the MAC input's channel and header. Each
 * sender (each {@link FrameSealer}) derives a key of its own from the key's
 * encryption key and 16 random bytes (its salt, sent in every frame), and
 * numbers its IVs: IVs never repeat under one key, however many frames a
 * deployment sends, where random IVs would need a rotation after 2³² frames.
 *
 * The same sender key and IV counter seal stored values (a durable task's
 * payload, result and error in its Redis hash): see value-seal.ts for their
 * format. Their additional data starts with a tag no frame's does, so neither
 * can stand for the other.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createSecretKey,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { type FrameKey, isValidKeyId, type Keyring, MAX_KEY_ID_LENGTH } from './auth-options.js';

/** Why a frame was dropped before anything read it. */
export const FRAME_DROP_REASONS = [
  /** No signature, on a node with frame authentication on. */
  'unsigned',
  /** A signed frame on a node with frame authentication off. */
  'signed',
  /** It starts like a signed frame, but its header cannot be read (truncated, bad fields). */
  'malformed',
  /** Larger than any frame this node accepts: refused before its MAC is computed. */
  'too_large',
  /** Signed with a key id this node's keyring does not hold. */
  'unknown_key',
  /** Its channel tag names another channel: a frame moved from where it was published. */
  'wrong_channel',
  /** Its MAC does not match: forged, tampered with, or signed with another secret under the same id. */
  'bad_mac',
  /** Genuine, but its timestamp is further than `maxSkewMs` from this node's clock. */
  'stale',
  /** Genuine, and seen before: a frame published again. */
  'replay',
  /** Genuine, but its encrypted body cannot be decrypted. */
  'decrypt',
] as const;

export type FrameDropReason = (typeof FRAME_DROP_REASONS)[number];

/** A frame that passed every check. */
export interface OpenedFrame {
  /** The body, decrypted if it was encrypted: what an unsigned frame would have been. */
  readonly body: string;
  /** The sender's timestamp, epoch ms. */
  readonly sentAt: number;
  /** A fresh string unique to this frame (its MAC): what replay detection remembers. */
  readonly fingerprint: string;
}

/** The first character of every sealed frame. */
export const SEALED_FRAME_MARKER = '~';
/** Its character code: whether a frame is sealed is one `charCodeAt(0)` away. */
export const SEALED_FRAME_CODE = 0x7e;
const SIGNED = 's';
const ENCRYPTED = 'e';
const TAG_CHARS = 4;
const MAC_CHARS = 43;
const MAX_KEY_ID_CHARS = MAX_KEY_ID_LENGTH;
/** Epoch ms in decimal: 13 digits until the year 2286. */
const MAX_TS_DIGITS = 15;
/** Header length at most: `~s ` + key id + tag + ts + MAC + their spaces. */
export const MAX_HEADER_CHARS = 3 + MAX_KEY_ID_CHARS + 1 + TAG_CHARS + 1 + MAX_TS_DIGITS + 1 + 44;

const SALT_BYTES = 16;
const IV_BYTES = 12;
const GCM_TAG_BYTES = 16;
const SENDER_INFO = 'ringcast frame sender v1';
/** Senders' keys a receiver keeps derived: one per process that sends it frames, and per key. */
const MAX_SENDER_KEYS = 1_024;

/** How a frame is bound to its channel: the MAC's prefix and the header's tag. */
interface ChannelBinding {
  readonly prefix: string;
  readonly tag: string;
}

/** Channels a process has bindings cached for; a dispatcher sends to one per worker. */
const MAX_CACHED_CHANNELS = 4_096;
const bindings = new Map<string, ChannelBinding>();

function bindingOf(channel: string): ChannelBinding {
  let binding = bindings.get(channel);
  if (binding === undefined) {
    if (bindings.size >= MAX_CACHED_CHANNELS) bindings.clear();
    const tag = createHash('sha256').update(channel).digest('base64url').slice(0, TAG_CHARS);
    binding = { prefix: `${Buffer.byteLength(channel, 'utf8')}:${channel}`, tag };
    bindings.set(channel, binding);
  }
  return binding;
}

/** Where a frame sealed on a node with `maxBytes` frames could end, at most (base64 grows a body by 4/3). */
export function maxSealedChars(maxBytes: number): number {
  const encrypted = Math.ceil((maxBytes + SALT_BYTES + IV_BYTES + GCM_TAG_BYTES) / 3) * 4;
  return MAX_HEADER_CHARS + Math.max(maxBytes, encrypted);
}

/** Seals and opens frames with one keyring. One per process and keyring: it numbers its own IVs. */
export class FrameSealer {
  readonly keyring: Keyring;
  /** This sender's encryption key under the current key, and the salt it was derived with. */
  #senderSalt: Buffer | undefined;
  #senderKey: KeyObject | undefined;
  #ivCounter = 0;
  readonly #iv = Buffer.alloc(IV_BYTES);
  /** Other senders' keys, by key id and salt: one per sending process, derived once. */
  readonly #received = new Map<string, KeyObject>();

  constructor(keyring: Keyring) {
    this.keyring = keyring;
  }

  /** `body` as a frame for `channel`, signed (and encrypted if the keyring says so) at `now`. */
  seal(channel: string, body: string, now: number): string {
    const key = this.keyring.current;
    const binding = bindingOf(channel);
    const encrypt = this.keyring.encrypt;
    const head = `${SEALED_FRAME_MARKER}${encrypt ? ENCRYPTED : SIGNED} ${key.id} ${binding.tag} ${Math.trunc(now)} `;
    const sent = encrypt ? this.#encrypt(key, binding.prefix + head, body) : body;
    return `${head}${mac(key.mac, binding.prefix, head, sent)} ${sent}`;
  }

  /**
   * Checks a frame that arrived on `channel` at `now`: its header, key, channel,
   * MAC, then its timestamp (past only if `parked` is false: a parked reply
   * waits in Redis for its reader, under its own TTL), then decrypts it. Never
   * throws: the frame, or why it was refused. Replays are for the caller to tell.
   */
  open(channel: string, frame: string, now: number, parked = false): OpenedFrame | FrameDropReason {
    if (frame.charCodeAt(0) !== SEALED_FRAME_CODE) return 'unsigned';
    const header = readHeader(frame);
    if (header === undefined) return 'malformed';
    const key = this.keyring.keys.get(header.keyId);
    if (key === undefined) return 'unknown_key';
    const binding = bindingOf(channel);
    if (frame.slice(header.tagAt, header.tagAt + TAG_CHARS) !== binding.tag) return 'wrong_channel';
    const sent = frame.slice(header.bodyAt);
    const expected = mac(key.mac, binding.prefix, frame.slice(0, header.macAt), sent);
    if (!sameMac(expected, frame, header.macAt)) return 'bad_mac';
    const skew = this.keyring.maxSkewMs;
    if (header.ts > now + skew || (!parked && header.ts < now - skew)) return 'stale';
    if (!header.encrypted) return { body: sent, sentAt: header.ts, fingerprint: expected };
    const body = this.#decrypt(key, binding.prefix + frame.slice(0, header.macAt), sent);
    if (body === undefined) return 'decrypt';
    return { body, sentAt: header.ts, fingerprint: expected };
  }

  /** `plain` encrypted under the current key, bound to `aad`: base64(salt ‖ iv ‖ ciphertext ‖ tag). */
  encryptValue(aad: string, plain: string): string {
    return this.#encrypt(this.keyring.current, aad, plain);
  }

  /** What {@link encryptValue} encrypted under key `keyId` with `aad`, or why not. Never throws. */
  decryptValue(keyId: string, aad: string, text: string): string | 'unknown_key' | 'decrypt' {
    const key = this.keyring.keys.get(keyId);
    if (key === undefined) return 'unknown_key';
    return this.#decrypt(key, aad, text) ?? 'decrypt';
  }

  #encrypt(key: FrameKey, aad: string, body: string): string {
    if (this.#senderKey === undefined || this.#ivCounter >= Number.MAX_SAFE_INTEGER) {
      this.#senderSalt = randomBytes(SALT_BYTES);
      this.#senderKey = senderKey(key, this.#senderSalt);
      this.#ivCounter = 0;
    }
    const iv = this.#iv;
    const n = this.#ivCounter++;
    iv.writeUInt32BE(Math.floor(n / 2 ** 32), 4);
    iv.writeUInt32BE(n % 2 ** 32, 8);
    const cipher = createCipheriv('aes-256-gcm', this.#senderKey, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const parts = [this.#senderSalt!, iv, cipher.update(body, 'utf8'), cipher.final()];
    parts.push(cipher.getAuthTag());
    return Buffer.concat(parts).toString('base64');
  }

  #decrypt(key: FrameKey, aad: string, text: string): string | undefined {
    const data = Buffer.from(text, 'base64');
    if (data.length < SALT_BYTES + IV_BYTES + GCM_TAG_BYTES) return undefined;
    const salt = data.subarray(0, SALT_BYTES);
    const id = `${key.id}:${salt.toString('base64')}`;
    let cipherKey = this.#received.get(id);
    if (cipherKey === undefined) {
      // Only frames with a valid MAC get here: a stranger cannot make this derive keys.
      if (this.#received.size >= MAX_SENDER_KEYS) this.#received.clear();
      cipherKey = senderKey(key, salt);
      this.#received.set(id, cipherKey);
    }
    const iv = data.subarray(SALT_BYTES, SALT_BYTES + IV_BYTES);
    const tagAt = data.length - GCM_TAG_BYTES;
    try {
      const decipher = createDecipheriv('aes-256-gcm', cipherKey, iv);
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(data.subarray(tagAt));
      const plain = decipher.update(data.subarray(SALT_BYTES + IV_BYTES, tagAt));
      return Buffer.concat([plain, decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}

function senderKey(key: FrameKey, salt: Buffer): KeyObject {
  return createSecretKey(Buffer.from(hkdfSync('sha256', key.cipher, salt, SENDER_INFO, 32)));
}

function mac(key: KeyObject, prefix: string, head: string, body: string): string {
  const hmac = createHmac('sha256', key);
  hmac.update(prefix);
  hmac.update(head);
  hmac.update(body);
  return hmac.digest('base64url');
}

/** Compares the MAC in `frame` at `at` with `expected` in time that does not depend on where they differ. */
function sameMac(expected: string, frame: string, at: number): boolean {
  let diff = 0;
  for (let i = 0; i < MAC_CHARS; i++) diff |= expected.charCodeAt(i) ^ frame.charCodeAt(at + i);
  return diff === 0;
}

interface Header {
  encrypted: boolean;
  keyId: string;
  tagAt: number;
  ts: number;
  macAt: number;
  bodyAt: number;
}

/** The header's fields and where they are, or undefined if it is not one. Reads no further than the header. */
function readHeader(frame: string): Header | undefined {
  const mode = frame[1];
  if ((mode !== SIGNED && mode !== ENCRYPTED) || frame.charCodeAt(2) !== 0x20) return undefined;
  const keyEnd = spaceWithin(frame, 3, MAX_KEY_ID_CHARS);
  if (keyEnd < 0) return undefined;
  const keyId = frame.slice(3, keyEnd);
  if (!isValidKeyId(keyId)) return undefined;
  const tagAt = keyEnd + 1;
  if (frame.charCodeAt(tagAt + TAG_CHARS) !== 0x20) return undefined;
  const tsAt = tagAt + TAG_CHARS + 1;
  const tsEnd = spaceWithin(frame, tsAt, MAX_TS_DIGITS);
  if (tsEnd < 0) return undefined;
  let ts = 0;
  for (let i = tsAt; i < tsEnd; i++) {
    const digit = frame.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return undefined;
    ts = ts * 10 + digit;
  }
  const macAt = tsEnd + 1;
  const bodyAt = macAt + MAC_CHARS + 1;
  if (frame.charCodeAt(bodyAt - 1) !== 0x20 || frame.length < bodyAt) return undefined;
  return { encrypted: mode === ENCRYPTED, keyId, tagAt, ts, macAt, bodyAt };
}

/** Where the space ending a field of 1 to `max` characters from `from` is, or -1. */
function spaceWithin(frame: string, from: number, max: number): number {
  const end = Math.min(frame.length, from + max + 1);
  for (let i = from + 1; i < end; i++) if (frame.charCodeAt(i) === 0x20) return i;
  return -1;
}
