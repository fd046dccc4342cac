/** The registry watch on the in-memory transport: what a tick reads, when deaths are seen, the safety net. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WeightedRoundRobin } from './strategies/weighted-round-robin.js';
import {
  closeAll,
  type FakeWorker,
  n,
  outcome,
  type Reply,
  setup,
} from './testing/core-fixture.js';

afterEach(closeAll);

type Fixture = ReturnType<typeof setup>;

/** A worker that answers `moved` and beats every 300 ms (TTL 1 s); returns what stops its beats. */
async function survivor(t: Fixture): Promise<() => void> {
  const good = t.worker('good', () => ({ ok: 'moved' }), { heartbeatTtlMs: 1_000 });
  await t.join(good);
  const beats = t.clock.setInterval(() => void good.beat(), 300);
  return () => t.clock.clearTimer(beats);
}

/** A worker (TTL 1 s) that acks the next task and never answers it, nor beats again. */
async function dyingWith(t: Fixture, id: string, hello = false) {
  const dying = t.worker(id, () => 'ack', { heartbeatTtlMs: 1_000 });
  await t.join(dying);
  if (hello) {
    void dying.hello();
    await t.clock.advance(10);
  } else await t.start();
  const result = outcome(t.dispatcher.dispatch('echo', id));
  await t.clock.advance(0);
  expect(dying.received).toHaveLength(1);
  return result;
}

describe('the registry watch', () => {
  it('reads nothing per worker while the fleet only beats; the full read comes as the safety net', async () => {
    const t = setup({ reconcileIntervalMs: 200, fullReconcileIntervalMs: 10_000 });
    const fleet: FakeWorker[] = [];
    for (let i = 0; i < 20; i++) {
      const w = t.worker(`w${i}`, () => ({ ok: i }));
      await t.join(w);
      fleet.push(w);
    }
    await t.start();
    expect(t.dispatcher.workers()).toHaveLength(20);
    const full = vi.spyOn(t.transport, 'readRegistry');
    const some = vi.spyOn(t.transport, 'readWorkers');
    const ticks = vi.spyOn(t.transport, 'readChanges');
    for (let s = 0; s < 5; s++) {
      for (const w of fleet) void w.beat();
      await t.clock.advance(1_000);
    }
    expect(ticks.mock.calls.length).toBeGreaterThanOrEqual(20);
    expect(some).not.toHaveBeenCalled();
    expect(full).not.toHaveBeenCalled();
    // Within 1.25 × fullReconcileIntervalMs of the start: one full read.
    for (let s = 0; s < 8; s++) {
      for (const w of fleet) void w.beat();
      await t.clock.advance(1_000);
    }
    expect(full).toHaveBeenCalled();
    expect(t.dispatcher.workers()).toHaveLength(20);
  });

  it('reads a worker whose heartbeat says something new, and only it', async () => {
    const t = setup({ reconcileIntervalMs: 200 });
    const a = t.worker('a', () => 'silent');
    const b = t.worker('b', () => ({ ok: 'b' }));
    await t.join(a);
    await t.join(b);
    await t.start();
    const some = vi.spyOn(t.transport, 'readWorkers');
    // Its loop is blocked: the beat's value changes, so a tick reads it and routes around it.
    void a.beat(';b=500');
    void b.beat();
    await t.clock.advance(250);
    expect(some.mock.calls.flatMap(([ids]) => ids)).toEqual(['a']);
    expect(t.dispatcher.workers().find((w) => w.id === 'a')?.blockedMs).toBe(500);
  });

  it("moves a dead worker's attempts at its heartbeat deadline, not at the next tick", async () => {
    // Ticks 5 s apart: only the wake for the deadline can notice a death within the 1 s TTL.
    const t = setup({ reconcileIntervalMs: 5_000, ackTimeoutMs: 10_000 });
    const dying = t.worker('dying', () => 'ack', { heartbeatTtlMs: 1_000 });
    await t.join(dying);
    await t.start();
    const result = outcome(t.dispatcher.dispatch('echo', 'x'));
    await t.clock.advance(0);
    expect(dying.received).toHaveLength(1);
    const good = t.worker('good', () => ({ ok: 'moved' }), { heartbeatTtlMs: 1_000 });
    await t.join(good);
    await t.clock.advance(500);
    void good.beat();
    await t.clock.advance(400);
    expect(result.settled).toBe(false);
    void good.beat();
    await t.clock.advance(200);
    expect(result).toEqual({ settled: true, value: 'moved' });
    expect(t.dispatcher.workers().map((w) => w.id)).toEqual(['good']);
  });

  it('a death whose change notices were lost is healed by the full reconcile', async () => {
    const t = setup({ reconcileIntervalMs: 200, fullReconcileIntervalMs: 4_000 });
    const lost = t.worker('lost', () => 'ack', { heartbeatTtlMs: 1_000 });
    const alive = t.worker('alive', () => ({ ok: 'alive' }), { heartbeatTtlMs: 1_000 });
    await t.join(lost);
    await t.join(alive);
    await t.start();
    // Its deadline and its entry in the change log vanish (writes lost), then it stops beating.
    t.redis.zrem(n.heartbeatDeadlinesKey, ['lost']);
    t.redis.zrem(n.registryChangesKey, ['lost']);
    const beats = t.clock.setInterval(() => void alive.beat(), 300);
    await t.clock.advance(2_000);
    // No tick can tell: its heartbeat lapsed a second ago, and it is still counted.
    expect(
      t.dispatcher
        .workers()
        .map((w) => w.id)
        .sort(),
    ).toEqual(['alive', 'lost']);
    await t.clock.advance(3_100);
    expect(t.dispatcher.workers().map((w) => w.id)).toEqual(['alive']);
    expect(t.redis.hget(n.registryKey, 'lost')).toBeNull();
    t.clock.clearTimer(beats);
  });

  it("a full read slower than a tick is this dispatcher's work, not a Redis stall: deaths are still judged", async () => {
    // At 1,000 workers under load a full read took longer than reconcileIntervalMs. Timed
    // as a stall, each held liveness judgement for a TTL, and the full read that ends a
    // hold was slow again: a dead worker's attempts waited for a quick full read (~30 s).
    const t = setup({
      reconcileIntervalMs: 200,
      fullReconcileIntervalMs: 400,
      ackTimeoutMs: 60_000,
    });
    const result = await dyingWith(t, 'dying');
    const stopBeats = await survivor(t);
    const readRegistry = t.transport.readRegistry.bind(t.transport);
    vi.spyOn(t.transport, 'readRegistry').mockImplementation(async () => {
      const read = await readRegistry();
      await new Promise<void>((resolve) => t.clock.setTimeout(resolve, 300));
      return read;
    });
    // The dying worker's last beat was at its join: its attempt moves within its TTL and a round.
    await t.clock.advance(2_500);
    expect(result).toEqual({ settled: true, value: 'moved' });
    expect(t.dispatcher.workers().map((w) => w.id)).toEqual(['good']);
    stopBeats();
  });

  it('wakes for each death in turn: deaths a moment apart each move at their own deadline', async () => {
    // The wake was for the earliest deadline the tick had read, the first death's,
    // past by the time the round ended: the second death waited for the next tick.
    const t = setup({ reconcileIntervalMs: 5_000, ackTimeoutMs: 10_000 });
    const a = await dyingWith(t, 'first');
    await t.clock.advance(300);
    const b = await dyingWith(t, 'second', true);
    const stopBeats = await survivor(t);
    // Neither beats again: the first lapses at 1,000 ms, the second at about 1,300 ms.
    await t.clock.advance(800);
    expect(a).toEqual({ settled: true, value: 'moved' });
    expect(b.settled).toBe(false);
    await t.clock.advance(300);
    expect(b).toEqual({ settled: true, value: 'moved' });
    expect(t.dispatcher.workers().map((w) => w.id)).toEqual(['good']);
    stopBeats();
  });

  it('takes a round in with one rebuild of the ring, however many workers it adds or drops', async () => {
    // One rebuild per worker made 40 deaths at a thousand workers take seconds.
    const t = setup({ reconcileIntervalMs: 200, ackTimeoutMs: 10_000 });
    const fleet: FakeWorker[] = [];
    for (let i = 0; i < 30; i++) {
      // Each acks its first task and keeps it; the survivors answer what comes after.
      let first = true;
      const script = (): Reply => {
        if (first || i < 20) {
          first = false;
          return 'ack';
        }
        return { ok: `w${i}` };
      };
      const w = t.worker(`w${i}`, script, { heartbeatTtlMs: 1_000 });
      await t.join(w);
      fleet.push(w);
    }
    const rebuilds = vi.spyOn(WeightedRoundRobin.prototype, 'rebuild');
    await t.start();
    expect(t.dispatcher.workers()).toHaveLength(30);
    expect(rebuilds).toHaveBeenCalledTimes(1);
    // Every worker gets a task, then the first 20 stop beating together.
    const results = Array.from({ length: 30 }, (_, i) => outcome(t.dispatcher.dispatch('echo', i)));
    await t.clock.advance(0);
    for (const w of fleet) expect(w.received).toHaveLength(1);
    const survivors = fleet.slice(20);
    const beats = t.clock.setInterval(() => {
      for (const w of survivors) void w.beat();
    }, 300);
    rebuilds.mockClear();
    await t.clock.advance(1_100);
    expect(t.dispatcher.workers()).toHaveLength(10);
    expect(rebuilds).toHaveBeenCalledTimes(1);
    // What the dead held moved to the living, none to another dead one.
    await t.clock.advance(100);
    const moved = results.filter((r) => r.settled);
    expect(moved.length).toBe(20);
    const living = Array.from({ length: 10 }, (_, i) => `w${20 + i}`);
    for (const r of moved) expect(living).toContain(r.value);
    t.clock.clearTimer(beats);
  });

  it('reads everything when the change number went back (Redis lost the log)', async () => {
    const t = setup({ reconcileIntervalMs: 200, fullReconcileIntervalMs: 60_000 });
    const w = t.worker('w', () => ({ ok: 1 }));
    await t.join(w);
    await t.start();
    const full = vi.spyOn(t.transport, 'readRegistry');
    t.redis.del([n.registryVersionKey]);
    await t.clock.advance(250);
    expect(full).toHaveBeenCalledTimes(1);
    await t.clock.advance(1_000);
    expect(full).toHaveBeenCalledTimes(1);
  });

  it('a worker that joins a running fleet is first in line for the next task', async () => {
    const t = setup({ reconcileIntervalMs: 200 });
    const fleet = ['a', 'b', 'c'].map((id) => t.worker(id, () => ({ ok: id })));
    for (const w of fleet) await t.join(w);
    await t.start();
    for (let i = 0; i < 2; i++) {
      const r = outcome(t.dispatcher.dispatch('echo', i));
      await t.clock.advance(0);
      expect(r.settled).toBe(true);
    }
    const joiner = t.worker('joiner', () => ({ ok: 'joiner' }));
    await t.join(joiner);
    void joiner.hello();
    await t.clock.advance(10);
    const r = outcome(t.dispatcher.dispatch('echo', 'next'));
    await t.clock.advance(0);
    expect(r).toEqual({ settled: true, value: 'joiner' });
  });
});
