/**
 * One node's frame authentication: what its transport seals every outgoing
 * frame with and opens every incoming one with, before anything parses it.
 * It holds the keyring (replaced whole by {@link FrameGuard.setKeyring} for a
 * rotation), remembers accepted frames to recognise replays, counts every
 * dropped frame by reason and says so in a rate-limited log line.
 *
 * With auth off it changes nothing on the wire: frames go out as they are,
 * and only a signed frame arriving is dropped (and counted, and logged: the
 * deployment is probably half configured).
 */
import type { Keyring } from './auth-options.js';
import type { Clock } from './clock.js';
import { ErrorCode } from './errors.js';
import {
  FRAME_DROP_REASONS,
  type FrameDropReason,
  FrameSealer,
  maxSealedChars,
  SEALED_FRAME_CODE,
  SEALED_FRAME_MARKER,
} from './frame-seal.js';
import type { LogFields } from './logger.js';
import { ReplayMemory } from './replay-memory.js';

/** What `stats().auth` holds, on both sides. */
export interface AuthStats {
  /** Whether frame authentication is on. */
  enabled: boolean;
  /** The id of the key frames are signed with; undefined with auth off. */
  currentKey: string | undefined;
  /** Frames whose signature checked out. */
  verified: number;
  /** Frames dropped before anything read them, by reason (every reason is listed, most at 0). */
  dropped: Record<FrameDropReason, number>;
}

/** Where the guard's log lines go: a rate-limited log, one budget per `kind`. */
export type GuardLog = (kind: string, message: string, fields?: LogFields) => void;

export interface FrameGuardOptions {
  /** The keyring; undefined for auth off. */
  keyring: Keyring | undefined;
  clock: Pick<Clock, 'now'>;
  /** The node's `maxMessageBytes`: bodies beyond it are refused by the decoder, frames far beyond it here. */
  maxBytes: number;
  log: GuardLog;
}

export class FrameGuard {
  readonly #clock: Pick<Clock, 'now'>;
  readonly #maxChars: number;
  readonly #log: GuardLog;
  readonly #memory = new ReplayMemory();
  readonly #dropped = Object.fromEntries(FRAME_DROP_REASONS.map((r) => [r, 0])) as Record<
    FrameDropReason,
    number
  >;
  #sealer: FrameSealer | undefined;
  #verified = 0;
  /** The timestamp of the frame {@link open} returned last (NaN with auth off). */
  sentAt = Number.NaN;

  constructor(options: FrameGuardOptions) {
    this.#clock = options.clock;
    this.#maxChars = maxSealedChars(options.maxBytes);
    this.#log = options.log;
    this.#sealer = options.keyring && new FrameSealer(options.keyring);
  }

  /** Whether frame authentication is on. */
  get enabled(): boolean {
    return this.#sealer !== undefined;
  }

  /** The keyring in use; undefined with auth off. */
  get keyring(): Keyring | undefined {
    return this.#sealer?.keyring;
  }

  /** The sealer of the keyring in use (stored values are sealed with it too); undefined with auth off. */
  get sealer(): FrameSealer | undefined {
    return this.#sealer;
  }

  /**
   * Replaces the keyring: frames are signed with its current key from now on,
   * and accepted with any of its keys. Auth cannot be turned on or off this way
   * (every node of a deployment must agree): the caller checks.
   */
  setKeyring(keyring: Keyring): void {
    this.#sealer = new FrameSealer(keyring);
  }

  /** `body` as it goes out on `channel`: sealed, or as it is with auth off. */
  seal(channel: string, body: string): string {
    const sealer = this.#sealer;
    return sealer === undefined ? body : sealer.seal(channel, body, this.#clock.now());
  }

  /**
   * The body of a frame that arrived on `channel`, or undefined if it is dropped
   * (counted and logged). `parked`: it was taken from a parked list rather than
   * heard, so its age is not held against it (its list has a TTL of its own).
   */
  open(channel: string, frame: string, parked = false): string | undefined {
    const sealer = this.#sealer;
    if (sealer === undefined) {
      if (frame.charCodeAt(0) === SEALED_FRAME_CODE) return this.#drop('signed', channel);
      return frame;
    }
    if (frame.length > this.#maxChars) return this.#drop('too_large', channel);
    const now = this.#clock.now();
    const opened = sealer.open(channel, frame, now, parked);
    if (typeof opened === 'string') return this.#drop(opened, channel);
    const until = Math.max(opened.sentAt, now) + sealer.keyring.maxSkewMs;
    if (this.#memory.seen(opened.fingerprint, until, now)) return this.#drop('replay', channel);
    this.#verified++;
    this.sentAt = opened.sentAt;
    return opened.body;
  }

  /** Counts and logs a frame the node itself found to be a replay (an operator request not newer than the last). */
  refuse(reason: FrameDropReason, channel: string): void {
    this.#drop(reason, channel);
  }

  stats(): AuthStats {
    return {
      enabled: this.enabled,
      currentKey: this.#sealer?.keyring.current.id,
      verified: this.#verified,
      dropped: { ...this.#dropped },
    };
  }

  #drop(reason: FrameDropReason, channel: string): undefined {
    this.#dropped[reason]++;
    this.#log(`auth-${reason}`, `dropped a frame on ${channel}: ${this.#why(reason)}`, {
      channel,
      reason,
      code: ErrorCode.INVALID_MESSAGE,
    });
    return undefined;
  }

  #why(reason: FrameDropReason): string {
    const keyring = this.#sealer?.keyring;
    switch (reason) {
      case 'unsigned':
        return 'it is not signed, and frame authentication is on here: auth is probably misconfigured (its sender has none), or the frame is forged';
      case 'signed':
        return `it is signed (${SEALED_FRAME_MARKER}…), and frame authentication is off here: auth is probably misconfigured (give this process the deployment's auth keys)`;
      case 'malformed':
        return 'its signature header cannot be read';
      case 'too_large':
        return 'it is larger than any frame accepted here';
      case 'unknown_key':
        return `it is signed with a key id that is not in this keyring (${[...(keyring?.keys.keys() ?? [])].join(', ')}): add the sender's key, or fix its current key`;
      case 'wrong_channel':
        return 'it was signed for another channel (moved, or replayed from elsewhere)';
      case 'bad_mac':
        return 'its MAC does not match: forged or tampered with, or signed with another secret under the same key id';
      case 'stale':
        return `its timestamp is more than ${keyring?.maxSkewMs} ms from this clock: replayed late, or the clocks disagree (check NTP)`;
      case 'replay':
        return 'it was received before: a replay';
      case 'decrypt':
        return 'its encrypted body cannot be decrypted';
    }
  }
}
