/**
 * Frame authentication in the dispatcher core, on the memory transport: every
 * frame it sends is sealed for its channel, and whatever it hears unsigned,
 * forged, moved, stale or replayed is dropped and counted before it can settle
 * anything. Fake workers sign as real ones do (testing/core-fixture.ts).
 */
import {
  type AuthOptions,
  encodeCompactOk,
  encodeFrame,
  FrameSealer,
  parseAuthOptions,
  type TaskMessage,
} from '@ringcast/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, FakeWorker, fakeAuth, n, outcome, setup } from './testing/core-fixture.js';
import { run, second } from './testing/durable-fixture.js';

afterEach(closeAll);

const S1 = 'SECRET-ONE-for-the-dispatcher-tests-0001';
const S2 = 'SECRET-TWO-for-the-dispatcher-tests-0002';
const AUTH: AuthOptions = { keys: { k1: S1 }, current: 'k1' };

/** Every frame published on `channel`, as the wire carries it. */
function tap(s: ReturnType<typeof setup>, channel: string): string[] {
  const frames: string[] = [];
  const listener = s.redis.connect(`tap:${channel}`);
  listener.onMessage((_channel, frame) => frames.push(frame));
  void listener.subscribe([channel]);
  return frames;
}

/**
 * A dispatcher with `auth` and one fake worker that acks and leaves the task to
 * the test; the worker has `workerAuth` (by default the same).
 */
async function holdingWorker(auth: AuthOptions = AUTH, workerAuth: AuthOptions = auth) {
  const s = setup({ auth });
  const got: TaskMessage[] = [];
  const script = (task: TaskMessage) => {
    got.push(task);
    return 'ack' as const;
  };
  const w = new FakeWorker(s.redis, 'w1', script, {}, fakeAuth(workerAuth, s.clock));
  await s.join(w);
  await s.start();
  return { ...s, w, got };
}

describe('frame authentication in the dispatcher', () => {
  it('signs every frame it sends, and settles from signed replies', async () => {
    const s = setup({ auth: AUTH });
    const onWorker = tap(s, n.workerChannel('w1'));
    await s.join(s.worker('w1', (task) => ({ ok: task.payload })));
    await s.start();
    const result = outcome(s.dispatcher.dispatch('echo', { x: 1 }));
    await s.clock.advance(0);
    expect(result).toEqual({ settled: true, value: { x: 1 } });
    expect(onWorker.length).toBeGreaterThan(0);
    for (const frame of onWorker) expect(frame.startsWith('~s k1 ')).toBe(true);
    expect(s.dispatcher.stats().auth).toMatchObject({
      enabled: true,
      currentKey: 'k1',
      dropped: { unsigned: 0, bad_mac: 0, replay: 0 },
    });
    expect(s.dispatcher.stats().auth.verified).toBeGreaterThanOrEqual(2);
  });

  it('with encrypt, carries no payload in the clear and settles the same', async () => {
    const s = setup({ auth: { ...AUTH, encrypt: true } });
    const onWorker = tap(s, n.workerChannel('w1'));
    await s.join(s.worker('w1', (task) => ({ ok: task.payload })));
    await s.start();
    const result = outcome(s.dispatcher.dispatch('echo', { card: '4111-1111' }));
    await s.clock.advance(0);
    expect(result).toEqual({ settled: true, value: { card: '4111-1111' } });
    for (const frame of onWorker) {
      expect(frame.startsWith('~e k1 ')).toBe(true);
      expect(frame).not.toContain('4111');
    }
  });

  it('settles nothing from an unsigned, forged, wrong-key, moved, stale or replayed reply', async () => {
    const { clock, redis, dispatcher, w, got } = await holdingWorker();
    const attacker = redis.connect('attacker');
    const onReplies = tap({ redis } as never, n.replyChannel('d1'));
    const task = outcome(dispatcher.dispatch('echo', 'real'));
    await clock.advance(0);
    const attempt = got[0]!;
    const forgedBody = encodeFrame([encodeCompactOk(attempt.id, attempt.token, '"forged"')], {
      worker: 'w1',
      incarnation: w.info.incarnation,
    });
    const channel = n.replyChannel('d1');
    const now = clock.now();
    const stranger = new FrameSealer(parseAuthOptions({ keys: { k9: S2 }, current: 'k9' }));
    const impostor = new FrameSealer(parseAuthOptions({ keys: { k1: S2 }, current: 'k1' }));
    const genuine = new FrameSealer(parseAuthOptions(AUTH));
    const forgeries = [
      forgedBody,
      stranger.seal(channel, forgedBody, now),
      impostor.seal(channel, forgedBody, now),
      genuine.seal(n.replyChannel('d2'), forgedBody, now),
      genuine.seal(channel, forgedBody, now - 31_000),
      `${genuine.seal(channel, forgedBody, now).slice(0, 40)}`,
    ];
    for (const frame of forgeries) void attacker.publish(channel, frame);
    await clock.advance(0);
    expect(task.settled).toBe(false);
    expect(dispatcher.stats().auth.dropped).toMatchObject({
      unsigned: 1,
      unknown_key: 1,
      bad_mac: 1,
      wrong_channel: 1,
      stale: 1,
      malformed: 1,
    });
    expect(dispatcher.stats().invalidMessages).toBe(0);
    // The worker's genuine result settles it; captured and published again, it settles nothing twice.
    void w.finish(attempt, 'real result');
    await clock.advance(0);
    expect(task).toEqual({ settled: true, value: 'real result' });
    const heard = onReplies.filter((frame) => !forgeries.includes(frame));
    expect(heard).toHaveLength(2); // the ack and the result
    for (const frame of heard) void attacker.publish(channel, frame);
    await clock.advance(0);
    expect(dispatcher.stats().auth.dropped.replay).toBe(2);
    expect(dispatcher.stats().settled.ok).toBe(1);
    attacker.close();
  });

  it('drops an unsigned hello and leave on the control channel', async () => {
    const { clock, redis, dispatcher } = await holdingWorker();
    const attacker = redis.connect('attacker');
    const leave = encodeFrame([JSON.stringify({ kind: 'leave', id: 'w1', incarnation: 'inc-w1' })]);
    void attacker.publish(n.controlChannel, leave);
    await clock.advance(0);
    expect(dispatcher.workers().map((w) => [w.id, w.healthy])).toEqual([['w1', true]]);
    expect(dispatcher.stats().auth.dropped.unsigned).toBe(1);
    attacker.close();
  });

  it('takes signed parked replies, bound to its reply channel, and drops forged ones', async () => {
    const { clock, redis, transport, dispatcher, w, got } = await holdingWorker();
    const task = outcome(dispatcher.dispatch('echo', 'parked'));
    await clock.advance(0);
    // The subscription drops: the worker's result is parked, signed for d1's reply channel.
    transport.subscriber!.drop();
    const forged = encodeFrame([encodeCompactOk(got[0]!.id, got[0]!.token, '"forged"')], {
      worker: 'w1',
      incarnation: w.info.incarnation,
    });
    void redis.connect('attacker').command((r) => r.rpush(n.parkedKey('d1'), [forged]));
    await clock.advance(0);
    void w.finish(got[0]!, 'from the list');
    await clock.advance(0);
    transport.subscriber!.restore();
    for (let i = 0; i < 50 && !task.settled; i++) await clock.advance(100);
    expect(task).toEqual({ settled: true, value: 'from the list' });
    expect(dispatcher.stats().auth.dropped.unsigned).toBe(1);
  });

  it('announces durable settlements signed, and another dispatcher wakes on them', async () => {
    const s = setup({ auth: AUTH });
    const settled = tap(s, n.settledChannel);
    await s.join(s.worker('w1', (task) => ({ ok: `done ${String(task.payload)}` })));
    await s.start();
    const other = await second(s, 'd2', { auth: AUTH });
    const id = await run(s, s.dispatcher.submit('echo', 'a'));
    expect(await run(s, other.result(id, { timeoutMs: 5_000 }))).toBe('done a');
    expect(settled.length).toBeGreaterThan(0);
    for (const frame of settled) expect(frame.startsWith('~s k1 ')).toBe(true);
    expect(other.stats().auth.verified).toBeGreaterThan(0);
    await run(s, other.close());
  });

  it('cancels a durable task another dispatcher runs through a signed cancel; an unsigned one does nothing', async () => {
    const s = await holdingWorker();
    const attacker = s.redis.connect('attacker');
    const id = await run(s, s.dispatcher.submit('echo', 'long'));
    await s.clock.advance(20);
    expect((await run(s, s.dispatcher.task(id)))?.state).toBe('active');
    void attacker.publish(n.cancelChannel, id);
    await s.clock.advance(20);
    expect((await run(s, s.dispatcher.task(id)))?.state).toBe('active');
    expect(s.dispatcher.stats().auth.dropped.unsigned).toBe(1);
    const other = await second(s, 'd2', { auth: AUTH });
    expect(await run(s, other.cancel(id))).toBe(true);
    await s.clock.advance(20);
    expect((await run(s, s.dispatcher.task(id)))?.state).toBe('cancelled');
    await run(s, other.close());
    attacker.close();
  });

  it('rotates with setAuth: accepts the new key beside the old, then signs with it', async () => {
    // The worker has both keys already, and signs with k1 throughout.
    const s = await holdingWorker(AUTH, { keys: { k1: S1, k2: S2 }, current: 'k1' });
    const onWorker = tap(s, n.workerChannel('w1'));
    s.dispatcher.setAuth({ keys: { k1: S1, k2: S2 }, current: 'k1' });
    const first = outcome(s.dispatcher.dispatch('echo', 1));
    await s.clock.advance(0);
    s.dispatcher.setAuth({ keys: { k1: S1, k2: S2 }, current: 'k2' });
    const second = outcome(s.dispatcher.dispatch('echo', 2));
    await s.clock.advance(0);
    expect(onWorker.map((frame) => frame.slice(0, 6))).toEqual(['~s k1 ', '~s k2 ']);
    expect(s.dispatcher.stats().auth.currentKey).toBe('k2');
    // The fake worker signs with k1 still: its replies are taken during the switch.
    void s.w.finish(s.got[0]!, 'one');
    await s.clock.advance(0);
    expect(first).toEqual({ settled: true, value: 'one' });
    // Retired: k1 replies are refused.
    s.dispatcher.setAuth({ keys: { k2: S2 }, current: 'k2' });
    void s.w.finish(s.got[1]!, 'two');
    await s.clock.advance(0);
    expect(second.settled).toBe(false);
    expect(s.dispatcher.stats().auth.dropped.unknown_key).toBe(1);
  });

  it('setAuth refuses an invalid keyring and a dispatcher made without auth, naming no secret', async () => {
    const s = await holdingWorker();
    expect(() => s.dispatcher.setAuth({ keys: { k1: 'short' }, current: 'k1' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() => s.dispatcher.setAuth({ keys: { k1: S1 }, current: S2 })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('SECRET-TWO') }),
    );
    const plain = setup();
    expect(() => plain.dispatcher.setAuth(AUTH)).toThrow(/made without auth/);
    expect(s.dispatcher.stats().auth.currentKey).toBe('k1');
  });

  it('refuses an invalid auth option at construction, without the secret', () => {
    expect(() => setup({ auth: { keys: { k1: S1 }, current: 'k2' } })).toThrow(
      /auth\.current key k2 is not in auth\.keys/,
    );
    expect(() => setup({ auth: { keys: { k1: S1.slice(0, 20) }, current: 'k1' } })).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: expect.not.stringContaining('SECRET-ONE'),
      }),
    );
  });

  it('without auth, drops signed frames, counts them and says auth is probably misconfigured', async () => {
    const warnings: string[] = [];
    const s = setup({
      logger: { info() {}, warn: (m: string) => warnings.push(m), error() {} },
    });
    await s.start();
    const signed = new FrameSealer(parseAuthOptions(AUTH));
    const attacker = s.redis.connect('attacker');
    const channel = n.replyChannel('d1');
    void attacker.publish(channel, signed.seal(channel, '{"v":2,"m":[]}', s.clock.now()));
    void attacker.publish(channel, signed.seal(channel, '{"v":2,"m":[]}', s.clock.now() + 1));
    await s.clock.advance(0);
    expect(s.dispatcher.stats().auth).toMatchObject({ enabled: false, dropped: { signed: 2 } });
    expect(s.dispatcher.stats().invalidMessages).toBe(0);
    expect(warnings.filter((m) => /auth is probably misconfigured/.test(m))).toHaveLength(1);
    attacker.close();
  });

  it('exports the drops as ringcast_dispatcher_frames_dropped_total{reason}', async () => {
    const s = setup({ auth: AUTH, metrics: true });
    await s.start();
    const attacker = s.redis.connect('attacker');
    void attacker.publish(n.replyChannel('d1'), 'not signed');
    await s.clock.advance(0);
    const text = await s.dispatcher.metrics().registry.metrics();
    expect(text).toContain('ringcast_dispatcher_frames_dropped_total{reason="unsigned"} 1');
    expect(text).toContain('ringcast_dispatcher_frames_dropped_total{reason="bad_mac"} 0');
    attacker.close();
  });
});
