/**
 * Frame authentication in the worker core, on the memory transport: what it
 * sends is sealed for its channel (replies, hello and leave, parked replies for
 * the reply channel they were meant for, its recovery probe), and a task frame
 * that is unsigned, forged, moved, stale, truncated or replayed runs nothing.
 * The fake dispatcher signs as a real one does (testing/core-fixture.ts).
 */
import {
  type AuthOptions,
  encode,
  FrameSealer,
  MAX_MAX_SKEW_MS,
  type Message,
  parseAuthOptions,
} from '@ringcast/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { FINISHED_MAX_AGE_MS } from './replies.js';
import { DISPATCHER, expectWorkersIdle, ID, n, setup } from './testing/core-fixture.js';

afterEach(expectWorkersIdle);

const S1 = 'SECRET-ONE-for-the-worker-tests-000001';
const S2 = 'SECRET-TWO-for-the-worker-tests-000002';
const AUTH: AuthOptions = { keys: { k1: S1 }, current: 'k1' };

/** A started worker with auth whose handler `job` counts its runs. */
async function started(auth: AuthOptions = AUTH, extra: Parameters<typeof setup>[1] = {}) {
  const runs: unknown[] = [];
  const t = await setup(
    {
      job: (payload) => {
        runs.push(payload);
        return payload;
      },
    },
    { auth, ...extra },
  );
  await t.settle(t.worker.start());
  return { ...t, runs };
}

/** Every frame published on `channel`, as the wire carries it. */
function tap(t: Awaited<ReturnType<typeof started>>, channel: string): string[] {
  const frames: string[] = [];
  const listener = t.redis.connect(`tap:${channel}`);
  listener.onMessage((_channel, frame) => frames.push(frame));
  void t.settle(listener.subscribe([channel]));
  return frames;
}

describe('frame authentication in the worker', () => {
  it('runs signed tasks and signs its replies, hello and leave', async () => {
    const t = await started();
    const onReplies = tap(t, n.replyChannel(DISPATCHER));
    const onControl = tap(t, n.controlChannel);
    await t.clock.advance(1);
    await t.send(t.task());
    expect(t.kinds()).toEqual(['result']);
    await t.settle(t.worker.close());
    expect(onReplies.length).toBe(1);
    expect(onControl.length).toBe(1); // the leave: the hello went out before the tap
    for (const frame of [...onReplies, ...onControl]) expect(frame.startsWith('~s k1 ')).toBe(true);
    expect(t.control.map((m) => m.kind)).toEqual(['hello', 'leave']);
    expect(t.worker.stats().auth).toMatchObject({ enabled: true, currentKey: 'k1', verified: 1 });
  });

  it('runs nothing for an unsigned, forged, wrong-key, moved, stale, truncated or oversized frame', async () => {
    const t = await started();
    const channel = n.workerChannel(ID);
    const body = encode([t.task()]);
    const now = t.clock.now();
    const genuine = new FrameSealer(parseAuthOptions(AUTH));
    const forgeries = [
      body,
      new FrameSealer(parseAuthOptions({ keys: { k9: S2 }, current: 'k9' })).seal(
        channel,
        body,
        now,
      ),
      new FrameSealer(parseAuthOptions({ keys: { k1: S2 }, current: 'k1' })).seal(
        channel,
        body,
        now,
      ),
      genuine.seal(n.workerChannel('w2'), body, now),
      genuine.seal(channel, body, now - 31_000),
      genuine.seal(channel, body, now + 31_000),
      genuine.seal(channel, body, now).slice(0, 50),
      genuine.seal(channel, body, now).replace(' k1 ', ' ké '),
      genuine.seal(channel, body, now).replace('"job"', '"jób"'),
      genuine.seal(channel, encode([t.task({ payload: 'x'.repeat(2_000_000) })]), now),
    ];
    for (const frame of forgeries) await t.sendRaw(frame);
    expect(t.runs).toEqual([]);
    expect(t.replies).toEqual([]);
    expect(t.worker.stats()).toMatchObject({
      received: 0,
      invalid: 0,
      auth: {
        verified: 0,
        dropped: {
          unsigned: 1,
          unknown_key: 1,
          bad_mac: 2,
          wrong_channel: 1,
          stale: 2,
          malformed: 2,
          too_large: 1,
        },
      },
    });
    await t.settle(t.worker.close());
  });

  it('runs a captured task frame published again not again: a replay', async () => {
    const t = await started();
    const frame = t.seal(n.workerChannel(ID), encode([t.task()]));
    await t.sendRaw(frame);
    await t.sendRaw(frame);
    await t.clock.advance(10_000);
    await t.sendRaw(frame);
    expect(t.runs).toHaveLength(1);
    expect(t.kinds()).toEqual(['result']);
    expect(t.worker.stats().auth.dropped.replay).toBe(2);
    // Past the window, the same frame is stale.
    await t.clock.advance(30_000);
    await t.sendRaw(frame);
    expect(t.worker.stats().auth.dropped.stale).toBe(1);
    expect(t.runs).toHaveLength(1);
    await t.settle(t.worker.close());
  });

  it('remembers finished attempts for the widest window: an attempt sent again then is answered, not run', async () => {
    expect(FINISHED_MAX_AGE_MS).toBeGreaterThanOrEqual(MAX_MAX_SKEW_MS);
    const t = await started({ ...AUTH, maxSkewMs: MAX_MAX_SKEW_MS });
    const task = t.task({ deadline: t.clock.now() + 600_000 });
    await t.send(task);
    // The same attempt in a frame signed anew (as a dispatcher's re-send is), just inside the window.
    await t.clock.advance(MAX_MAX_SKEW_MS - 1_000);
    await t.send(task);
    expect(t.runs).toHaveLength(1);
    expect(t.kinds()).toEqual(['result', 'result']);
    expect(t.worker.stats().duplicates).toBe(1);
    await t.settle(t.worker.close());
  });

  it('takes an operator request only if it is newer than the last one applied', async () => {
    const t = await started();
    const channel = n.workerChannel(ID);
    const reweight = (weight: number, at: number) =>
      t.seal(channel, encode([{ kind: 'reweight', id: ID, weight } as Message]), at);
    const now = t.clock.now();
    // As `ringcast reweight` does: the policy first (the worker's heartbeats follow it), then the frame.
    t.redis.hset(n.weightsKey, ID, '7');
    await t.sendRaw(reweight(7, now));
    expect(t.worker.info().weight).toBe(7);
    // Older than the one applied: a replay of an earlier request, even in a frame not seen before.
    await t.sendRaw(reweight(3, now - 1));
    await t.sendRaw(reweight(3, now));
    expect(t.worker.info().weight).toBe(7);
    expect(t.worker.stats().auth.dropped.replay).toBe(2);
    const drain = t.seal(channel, encode([{ kind: 'drain', id: ID } as Message]), now - 5);
    await t.sendRaw(drain);
    expect(t.worker.stats().auth.dropped.replay).toBe(3);
    await t.clock.advance(5);
    t.redis.hset(n.weightsKey, ID, '9');
    await t.sendRaw(reweight(9, t.clock.now()));
    expect(t.worker.info().weight).toBe(9);
    await t.settle(t.worker.close());
  });

  it('parks a reply nobody heard sealed for the reply channel it was meant for', async () => {
    const t = await started();
    await t.settle(t.peer.unsubscribe([n.replyChannel(DISPATCHER)]));
    await t.send(t.task());
    const [parked] = t.redis.lrange(n.parkedKey(DISPATCHER), 0, -1);
    const reader = new FrameSealer(parseAuthOptions(AUTH));
    const opened = reader.open(n.replyChannel(DISPATCHER), parked!, t.clock.now(), true);
    expect(typeof opened === 'object' && opened.body).toMatch(/^\{"v":2,"w":"w1"/);
    expect(reader.open(n.replyChannel('d2'), parked!, t.clock.now(), true)).toBe('wrong_channel');
    await t.settle(t.worker.close());
  });

  it('recovers its subscription with a signed probe', async () => {
    const t = await started();
    t.transport.subscriber!.drop();
    await t.clock.advance(3_000);
    t.transport.subscriber!.restore();
    await t.clock.advance(2_000);
    expect(t.control.map((m) => m.kind)).toEqual(['hello', 'hello']);
    expect(t.worker.stats().auth.dropped).toMatchObject({ unsigned: 0, bad_mac: 0 });
    await t.send(t.task());
    expect(t.runs).toHaveLength(1);
    await t.settle(t.worker.close());
  });

  it('with encrypt, carries no payload or result in the clear', async () => {
    const t = await started({ ...AUTH, encrypt: true });
    const onReplies = tap(t, n.replyChannel(DISPATCHER));
    await t.clock.advance(1);
    await t.send(t.task({ payload: { card: '4111-1111' } }));
    expect(t.replies.at(-1)).toMatchObject({ kind: 'result', value: { card: '4111-1111' } });
    expect(onReplies.length).toBe(1);
    expect(onReplies[0]!.startsWith('~e k1 ')).toBe(true);
    expect(onReplies[0]).not.toContain('4111');
    await t.settle(t.worker.close());
  });

  it('rotates with setAuth, and refuses a keyring that is invalid or a worker without auth', async () => {
    // Both keys everywhere first; the fake dispatcher keeps signing with k1 throughout.
    const t = await started({ keys: { k1: S1, k2: S2 }, current: 'k1' });
    const onReplies = tap(t, n.replyChannel(DISPATCHER));
    await t.clock.advance(1);
    t.worker.setAuth({ keys: { k1: S1, k2: S2 }, current: 'k2' });
    await t.send(t.task());
    expect(t.runs).toHaveLength(1);
    expect(onReplies.at(-1)!.startsWith('~s k2 ')).toBe(true);
    expect(() => t.worker.setAuth({ keys: { k1: S1 }, current: 'k2' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() => t.worker.setAuth({ keys: { k1: 'short' }, current: 'k1' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('short') }),
    );
    t.worker.setAuth({ keys: { k2: S2 }, current: 'k2' });
    await t.send(t.task());
    expect(t.runs).toHaveLength(1);
    expect(t.worker.stats().auth.dropped.unknown_key).toBe(1);
    await t.settle(t.worker.close());
    const plain = await setup({ job: () => 1 });
    expect(() => plain.worker.setAuth(AUTH)).toThrow(/made without auth/);
  });

  it('without auth, drops signed frames and says auth is probably misconfigured', async () => {
    const warnings: string[] = [];
    const t = await setup(
      { job: () => 1 },
      { logger: { info() {}, warn: (m: string) => warnings.push(m), error() {} }, metrics: true },
    );
    await t.settle(t.worker.start());
    const signed = new FrameSealer(parseAuthOptions(AUTH));
    await t.sendRaw(signed.seal(n.workerChannel(ID), encode([t.task()]), t.clock.now()));
    expect(t.replies).toEqual([]);
    expect(t.worker.stats().auth).toMatchObject({ enabled: false, dropped: { signed: 1 } });
    expect(warnings.some((m) => /auth is probably misconfigured/.test(m))).toBe(true);
    const text = await t.worker.metrics().registry.metrics();
    expect(text).toContain('ringcast_worker_frames_dropped_total{reason="signed"} 1');
    await t.settle(t.worker.close());
  });
});
