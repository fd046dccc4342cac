import { describe, expect, it } from 'vitest';
import { parseAuthOptions } from './auth-options.js';
import { FrameGuard } from './frame-guard.js';
import { FRAME_DROP_REASONS } from './frame-seal.js';
import type { LogFields } from './logger.js';
import { ReplayMemory } from './replay-memory.js';
import { VirtualClock } from './virtual-clock.js';

const S1 = 'first-secret-of-at-least-32-chars-0001';
const S2 = 'second-secret-of-at-least-32-chars-002';
const CHANNEL = 'ns:d:d1';
const BODY = '{"v":2,"m":[]}';

interface Line {
  kind: string;
  message: string;
  fields: LogFields | undefined;
}

function guardOn(
  keys: Record<string, string> | undefined,
  current = 'k1',
  options: { encrypt?: boolean; maxBytes?: number } = {},
) {
  const clock = new VirtualClock();
  const lines: Line[] = [];
  const keyring = keys && parseAuthOptions({ keys, current, encrypt: options.encrypt ?? false });
  const guard = new FrameGuard({
    keyring,
    clock,
    maxBytes: options.maxBytes ?? 4_096,
    log: (kind, message, fields) => lines.push({ kind, message, fields }),
  });
  return { guard, clock, lines };
}

describe('FrameGuard', () => {
  it('with auth off, sends frames as they are and lets unsigned ones through', () => {
    const { guard, lines } = guardOn(undefined);
    expect(guard.enabled).toBe(false);
    expect(guard.seal(CHANNEL, BODY)).toBe(BODY);
    expect(guard.open(CHANNEL, BODY)).toBe(BODY);
    expect(guard.stats()).toMatchObject({ enabled: false, currentKey: undefined, verified: 0 });
    expect(lines).toEqual([]);
  });

  it('with auth off, drops a signed frame as "signed" and says auth is probably misconfigured', () => {
    const { guard, lines } = guardOn(undefined);
    const signed = guardOn({ k1: S1 }).guard.seal(CHANNEL, BODY);
    expect(guard.open(CHANNEL, signed)).toBeUndefined();
    expect(guard.stats().dropped.signed).toBe(1);
    expect(lines[0]!.kind).toBe('auth-signed');
    expect(lines[0]!.message).toMatch(/auth is probably misconfigured/);
    expect(lines[0]!.fields).toMatchObject({ channel: CHANNEL, reason: 'signed' });
  });

  it('with auth on, seals, opens, counts verified frames and remembers the sender’s time', async () => {
    const { guard, clock } = guardOn({ k1: S1 });
    const sentAt = clock.now();
    const frame = guard.seal(CHANNEL, BODY);
    expect(frame.startsWith('~s k1 ')).toBe(true);
    const receiver = guardOn({ k1: S1 });
    await receiver.clock.advance(7);
    expect(receiver.guard.open(CHANNEL, frame)).toBe(BODY);
    expect(receiver.guard.sentAt).toBe(sentAt);
    expect(receiver.guard.stats()).toMatchObject({ enabled: true, currentKey: 'k1', verified: 1 });
  });

  it('drops an unsigned frame and says auth is probably misconfigured', () => {
    const { guard, lines } = guardOn({ k1: S1 });
    expect(guard.open(CHANNEL, BODY)).toBeUndefined();
    expect(guard.stats().dropped.unsigned).toBe(1);
    expect(lines[0]!.message).toMatch(/auth is probably misconfigured/);
  });

  it('drops the same frame a second time as a replay, also when it was parked', async () => {
    const { guard: sender, clock } = guardOn({ k1: S1 });
    const { guard } = guardOn({ k1: S1 });
    const frame = sender.seal(CHANNEL, BODY);
    expect(guard.open(CHANNEL, frame)).toBe(BODY);
    expect(guard.open(CHANNEL, frame)).toBeUndefined();
    expect(guard.open(CHANNEL, frame, true)).toBeUndefined();
    expect(guard.stats()).toMatchObject({ verified: 1, dropped: { replay: 2 } });
    // The same body sealed again later is a new frame, not a replay. (Within the
    // same millisecond it is the same frame: its messages were taken already.)
    await clock.advance(1);
    expect(guard.open(CHANNEL, sender.seal(CHANNEL, BODY))).toBe(BODY);
  });

  it('refuses a replay after the window as stale', async () => {
    const frame = guardOn({ k1: S1 }).guard.seal(CHANNEL, BODY);
    const receiver = guardOn({ k1: S1 });
    expect(receiver.guard.open(CHANNEL, frame)).toBe(BODY);
    await receiver.clock.advance(30_001);
    expect(receiver.guard.open(CHANNEL, frame)).toBeUndefined();
    expect(receiver.guard.stats().dropped).toMatchObject({ stale: 1, replay: 0 });
  });

  it('refuses a frame far larger than the node’s frames before computing its MAC', () => {
    const { guard } = guardOn({ k1: S1 }, 'k1', { maxBytes: 4_096 });
    const huge = guardOn({ k1: S1 }, 'k1', { maxBytes: 1 << 20 }).guard.seal(
      CHANNEL,
      'x'.repeat(10_000),
    );
    expect(guard.open(CHANNEL, huge)).toBeUndefined();
    expect(guard.stats().dropped.too_large).toBe(1);
  });

  it('rotates: a new keyring signs with its current key and accepts both during the switch', () => {
    const node = guardOn({ k1: S1 });
    const peer = guardOn({ k1: S1 });
    const oldFrame = peer.guard.seal(CHANNEL, BODY);
    node.guard.setKeyring(parseAuthOptions({ keys: { k1: S1, k2: S2 }, current: 'k2' }));
    const newFrame = node.guard.seal(CHANNEL, BODY);
    expect(newFrame.startsWith('~s k2 ')).toBe(true);
    expect(node.guard.open(CHANNEL, oldFrame)).toBe(BODY);
    expect(node.guard.stats().currentKey).toBe('k2');
    // The peer, not yet rotated, cannot read k2 frames: the reason to add keys everywhere first.
    expect(peer.guard.open(CHANNEL, newFrame)).toBeUndefined();
    expect(peer.guard.stats().dropped.unknown_key).toBe(1);
    // Retired: k1 frames are refused.
    node.guard.setKeyring(parseAuthOptions({ keys: { k2: S2 }, current: 'k2' }));
    expect(node.guard.open(CHANNEL, peer.guard.seal(CHANNEL, BODY))).toBeUndefined();
    expect(node.guard.stats().dropped.unknown_key).toBe(1);
  });

  it('decrypts encrypted frames whatever its own setting', () => {
    const sender = guardOn({ k1: S1 }, 'k1', { encrypt: true }).guard;
    const { guard } = guardOn({ k1: S1 });
    const frame = sender.seal(CHANNEL, BODY);
    expect(frame).not.toContain(BODY);
    expect(guard.open(CHANNEL, frame)).toBe(BODY);
  });

  it('counts every reason, refusals of its host included, and lists them all', () => {
    const { guard, lines } = guardOn({ k1: S1 });
    guard.refuse('replay', CHANNEL);
    const { dropped } = guard.stats();
    expect(Object.keys(dropped).sort()).toEqual([...FRAME_DROP_REASONS].sort());
    expect(dropped.replay).toBe(1);
    expect(lines.map((l) => l.kind)).toEqual(['auth-replay']);
  });

  it('never logs a secret', () => {
    const { guard, lines } = guardOn({ k1: S1, k2: S2 });
    const stranger = guardOn({ k1: S2 }).guard;
    const sealed = guard.seal(CHANNEL, BODY);
    for (const frame of [
      BODY,
      '~s',
      stranger.seal(CHANNEL, BODY),
      guardOn({ k3: S1 }, 'k3').guard.seal(CHANNEL, BODY),
      sealed,
      sealed,
    ]) {
      guard.open(CHANNEL, frame);
      guard.open('elsewhere', frame);
    }
    const text = JSON.stringify(lines);
    expect(lines.length).toBeGreaterThan(4);
    for (const secret of [S1, S2]) expect(text).not.toContain(secret.slice(0, 10));
  });
});

describe('ReplayMemory', () => {
  it('remembers a fingerprint until its time, and forgets it after', () => {
    const memory = new ReplayMemory();
    expect(memory.seen('a', 1_000, 0)).toBe(false);
    expect(memory.seen('a', 1_000, 500)).toBe(true);
    expect(memory.seen('b', 5_000, 2_000)).toBe(false);
    // The sweep at 2 000 dropped 'a'.
    expect(memory.size).toBe(1);
    expect(memory.seen('a', 9_000, 2_100)).toBe(false);
  });

  it('keeps at most its bound, forgetting the oldest first', () => {
    const memory = new ReplayMemory(3);
    for (const f of ['a', 'b', 'c', 'd']) memory.seen(f, 60_000, 0);
    expect(memory.size).toBe(3);
    expect(memory.seen('d', 60_000, 0)).toBe(true);
    expect(memory.seen('a', 60_000, 0)).toBe(false);
  });
});
